-- The night's program's points after caps (int_points_capped_by_period keeps every
-- program's, and a marker row for each period computed again).

{{ config(materialized='view') }}

select
    entry_id,
    entry_kind,
    source_kind,
    source_id,
    employee_id,
    version_id,
    rule_id,
    attribution_weight,
    rule_points,
    multiplier,
    points,
    capped_points,
    channel,
    feedback_kind,
    score,
    effective_at
from {{ ref('int_points_capped_by_period') }}
where program = '{{ var("program") }}' and entry_id is not null
