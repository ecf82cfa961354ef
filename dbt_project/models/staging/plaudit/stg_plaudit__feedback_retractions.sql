-- Feedback withdrawn by the customer or found invalid (`plaudit feedback retract`).

with

source as (

    select * from {{ source('plaudit', 'feedback_retractions') }}

),

renamed as (

    select
        -- ids
        response_id,

        -- dimensions
        retracted_by,
        reason,

        -- timestamps
        retracted_at

    from source

)

select * from renamed
