-- Account funding legs already frozen with this program's awards.

with

source as (

    select f.*, a.period
    from {{ source('plaudit', 'award_funding') }} as f
    inner join {{ source('plaudit', 'awards') }} as a on f.award_id = a.award_id
    where a.program = '{{ var("program") }}' and f.funding_source = 'account'

),

renamed as (

    select
        -- ids
        award_id,
        account_id,

        -- dimensions
        period,
        currency,
        account_currency,

        -- numerics (minor units)
        amount_minor,
        coalesce(account_amount_minor, amount_minor) as account_amount_minor

    from source

)

select * from renamed
