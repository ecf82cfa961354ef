select
    -- ids
    interaction_id,
    employee_id,

    -- dimensions
    participant_role,

    -- timestamps
    touched_at,
    -- when the row was loaded (incremental models' watermark)
    _ingested_at as ingested_at

from {{ source('raw', 'interaction_participants') }}
