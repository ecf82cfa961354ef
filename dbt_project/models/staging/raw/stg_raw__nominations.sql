with

source as (

    select * from {{ source('raw', 'nominations') }}

),

renamed as (

    select
        -- ids
        nomination_id,
        employee_id as nominee_employee_id,
        account_id,
        customer_id,

        -- dimensions
        channel,
        nullif(trim(reason), '') as reason,

        -- timestamps
        nominated_at

    from source

)

select * from renamed
