-- Tier bonuses: int_tier_bonuses_by_period's entries for the night's program (without each
-- period's points per employee and the markers).

{{ config(materialized='view') }}

select
    entry_id, entry_kind, source_kind, source_id, employee_id, version_id, rule_id,
    attribution_weight, rule_points, multiplier, points, capped_points,
    channel, feedback_kind, score, effective_at
from {{ ref('int_tier_bonuses_by_period') }}
where {{ program_is() }} and entry_id is not null
