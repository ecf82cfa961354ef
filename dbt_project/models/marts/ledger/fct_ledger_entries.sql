-- Every ledger entry the rules call for, up to the night: feedback and
-- nomination points (after caps), comment-named bonuses, streaks, milestones,
-- challenges, leaderboard points and tier bonuses. Entry ids are deterministic:
-- a hash of program, source, employee and entry kind. Neither the matched rule
-- nor the program version is part of the id: a corrected score or a
-- re-versioned program maps to the same entry, so nothing can be posted twice
-- (a change to posted points will be a compensating entry). The publish step
-- posts with "on conflict do nothing".

with

entries as (

    select * from {{ ref('int_points_earned') }}
    union all
    select * from {{ ref('int_tier_bonuses') }}

)

select
    entry_id,
    '{{ var("program") }}'::text as program,
    version_id,
    employee_id,
    entry_kind,
    source_kind,
    source_id,
    rule_id,
    attribution_weight::numeric(9, 6) as attribution_weight,
    multiplier::numeric(8, 4) as multiplier,
    points::numeric(12, 2) as points,
    capped_points::numeric(12, 2) as capped_points,
    {{ period_of('effective_at') }}::char(7) as period,
    effective_at::timestamptz as effective_at
from entries
