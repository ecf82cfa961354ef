select
    -- ids
    response_id,
    interaction_id,
    nullif(employee_id, '') as named_employee_id,
    customer_email_hash,
    customer_phone_hash,
    -- only when the source's mapping allows it
    nullif(trim(customer_first_name), '') as customer_first_name,

    -- dimensions
    feedback_kind,
    channel,
    nullif(trim(comment), '') as comment,

    -- numerics
    score,

    -- timestamps
    responded_at,
    updated_at,
    -- when the row was loaded or last replaced (incremental models' watermark)
    _ingested_at as ingested_at

from {{ source('raw', 'feedback_responses') }}
