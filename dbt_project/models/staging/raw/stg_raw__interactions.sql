select
    -- ids
    interaction_id,
    account_id,
    customer_id,

    -- dimensions
    interaction_kind,
    channel,
    queue,

    -- timestamps
    opened_at,
    closed_at,
    _ingested_at as ingested_at

from {{ source('raw', 'interactions') }}
