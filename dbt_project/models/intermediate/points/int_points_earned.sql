-- Every entry the rules call for except tier bonuses (which are computed from
-- these): capped feedback and nomination points, comment-named bonuses,
-- streaks, milestones, challenges and leaderboard points.
--
-- A view: its readers (tiers, corrections, the entries not posted) read all of it anyway, and
-- writing it as a table cost a copy of every entry whenever any part changed (at M
-- 1.32 s of a 9.4 to 10.6 s rebuild of what follows it, with the readers no slower as a
-- view: bench/RESULTS.md; at L 10.3 s). The parts: points_earned_parts (macros/ledger.sql).

{{ config(materialized='view') }}

{% for part in points_earned_parts() %}
select
    entry_id, entry_kind, source_kind, source_id, employee_id, version_id, rule_id,
    attribution_weight, rule_points, multiplier, points, capped_points,
    channel, feedback_kind, score, effective_at
from {{ ref(part) }}
{% if not loop.last %}union all{% endif %}
{% endfor %}
