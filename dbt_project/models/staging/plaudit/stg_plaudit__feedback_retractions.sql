-- Feedback withdrawn by the customer or found invalid (`plaudit feedback retract`).

select
    -- ids
    response_id,

    -- dimensions
    retracted_by,
    reason,

    -- timestamps
    retracted_at

from {{ source('plaudit', 'feedback_retractions') }}
