with

source as (

    select * from {{ source('raw', 'interaction_participants') }}

),

renamed as (

    select
        -- ids
        interaction_id,
        employee_id,

        -- dimensions
        participant_role,

        -- timestamps
        touched_at

    from source

)

select * from renamed
