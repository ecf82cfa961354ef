with

source as (

    select * from {{ source('raw', 'exchange_rates') }}

),

renamed as (

    select
        -- ids
        from_currency::char(3) as from_currency,
        to_currency::char(3) as to_currency,

        -- numerics
        rate,

        -- dates: a rate applies from its day until the next rate of the pair
        rate_date as valid_from,
        coalesce(
            lead(rate_date) over (partition by from_currency, to_currency order by rate_date),
            date '9999-12-31'
        ) as valid_to

    from source

)

select * from renamed
