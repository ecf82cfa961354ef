-- Periods finance has closed, for this program.

with

source as (

    select * from {{ source('plaudit', 'period_closes') }}
    where program = '{{ var("program") }}'

),

renamed as (

    select
        -- ids
        program,
        period,

        -- dimensions
        closed_by,

        -- timestamps
        closed_at

    from source

)

select * from renamed
