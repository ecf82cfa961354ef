-- The night's program's points per source (int_points_by_source keeps every
-- program's, and markers for sources that earn nothing any more).

{{ config(materialized='view') }}

select
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
    channel,
    feedback_kind,
    score,
    effective_at
from {{ ref('int_points_by_source') }}
where program = '{{ var("program") }}' and employee_id is not null
