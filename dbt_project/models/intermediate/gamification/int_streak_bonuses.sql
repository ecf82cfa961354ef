-- Streak bonuses for the night's program: the entries of int_streak_bonuses_by_period (which
-- keeps every program's, with each employee's last day of each period and markers, and says
-- the rules).

{{ config(materialized='view') }}

select
    entry_id, entry_kind, source_kind, source_id, employee_id, version_id, rule_id,
    attribution_weight, rule_points, multiplier, points, capped_points,
    channel, feedback_kind, score, effective_at
from {{ ref('int_streak_bonuses_by_period') }}
where program = '{{ var("program") }}' and entry_id is not null
