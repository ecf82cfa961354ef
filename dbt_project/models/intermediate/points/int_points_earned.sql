-- Every entry the rules call for except tier bonuses (which are computed from
-- these): capped feedback and nomination points, comment-named bonuses,
-- streaks, milestones, challenges and leaderboard points.

{% set parts = [
    'int_points_capped', 'int_streak_bonuses', 'int_event_bonuses', 'int_leaderboard_bonuses'
] %}

{% for part in parts %}
select
    entry_id, entry_kind, source_kind, source_id, employee_id, version_id, rule_id,
    attribution_weight, rule_points, multiplier, points, capped_points,
    channel, feedback_kind, score, effective_at
from {{ ref(part) }}
{% if not loop.last %}union all{% endif %}
{% endfor %}
