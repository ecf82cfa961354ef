with

source as (

    select * from {{ source('program', 'program_multipliers') }}

),

renamed as (

    select
        -- ids
        program,
        version_id,
        multiplier_id,

        -- dimensions
        channel,

        -- numerics
        factor,

        -- dates (inclusive; null = open)
        valid_from,
        valid_to

    from source

)

select * from renamed
