-- The night's program's credits (int_feedback_credits keeps every program's, and
-- marker rows for responses that earn nobody any more): what the points, fairness
-- and gaming models read.

{{ config(materialized='view') }}

select
    response_id,
    employee_id,
    version_id,
    credit_kind,
    attribution_model,
    attribution_weight,
    feedback_kind,
    score,
    channel,
    comment,
    interaction_id,
    queue,
    responded_at
from {{ ref('int_feedback_credits') }}
where program = '{{ var("program") }}' and employee_id is not null
