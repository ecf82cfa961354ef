with

source as (

    select * from {{ source('program', 'program_role_weights') }}

),

renamed as (

    select
        -- ids
        program,
        version_id,

        -- dimensions
        participant_role,

        -- numerics
        weight as role_weight

    from source

)

select * from renamed
