-- Detractor feedback, attributed like any other, for the manager's private
-- coaching digest: no negative points, a conversation instead. Detractor:
-- CSAT or stars 1–2, NPS 0–6, CES 1–3, thumbs down. The manager is the one in the
-- employee's record valid when the feedback was given.
--
-- A view of int_coaching_items (incremental by response): its items of the night's program whose
-- employee had a record at the time. The weekly digest reads a week of it, through that table's
-- index on (program, responded_at).

{{ config(materialized='view') }}

select
    coaching_item_id,
    response_id,
    employee_id,
    manager_id,
    feedback_kind,
    score,
    channel,
    comment,
    attribution_weight,
    responded_at
from {{ ref('int_coaching_items') }}
where {{ program_is() }} and employee_id is not null and has_employee_version
