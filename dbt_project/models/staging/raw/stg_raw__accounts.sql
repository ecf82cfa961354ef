select
    -- ids
    account_id,

    -- dimensions
    account_name,
    segment,
    currency as co_funding_currency,

    -- numerics
    coalesce(co_funding_share, 0) as co_funding_share,
    co_funding_monthly_cap

from {{ source('raw', 'accounts') }}
