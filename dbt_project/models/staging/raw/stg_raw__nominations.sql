select
    -- ids
    nomination_id,
    employee_id as nominee_employee_id,
    account_id,
    customer_id,
    customer_email_hash,
    customer_domain_hash,

    -- dimensions
    channel,
    nullif(trim(reason), '') as reason,

    -- timestamps
    nominated_at,
    _ingested_at as ingested_at

from {{ source('raw', 'nominations') }}
