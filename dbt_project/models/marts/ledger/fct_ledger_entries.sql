-- Every ledger entry the rules call for, up to the night: feedback and
-- nomination points (after caps), comment-named bonuses, streaks, milestones,
-- challenges, leaderboard points and tier bonuses. Entry ids are deterministic:
-- a hash of program, source, employee and entry kind. Neither the matched rule
-- nor the program version is part of the id: a corrected score or a
-- re-versioned program maps to the same entry, so nothing can be posted twice
-- (a change to posted points will be a compensating entry). The publish step
-- posts with "on conflict do nothing".
--
-- Period: the UTC month of the feedback, except that an entry not yet posted
-- whose month finance has closed lands in the month after the last closed one
-- (late feedback never changes a closed period); a posted entry keeps its period.

with

entries as (

    select * from {{ ref('int_points_earned') }}
    union all
    select * from {{ ref('int_tier_bonuses') }}

),

posted as (

    select * from {{ ref('stg_plaudit__ledger_entries') }}

),

last_closed as (

    select max(period) as period from {{ ref('stg_plaudit__period_closes') }}

)

select
    entries.entry_id,
    '{{ var("program") }}'::text as program,
    entries.version_id,
    entries.employee_id,
    entries.entry_kind,
    entries.source_kind,
    entries.source_id,
    entries.rule_id,
    entries.attribution_weight::numeric(9, 6) as attribution_weight,
    entries.multiplier::numeric(8, 4) as multiplier,
    entries.points::numeric(12, 2) as points,
    entries.capped_points::numeric(12, 2) as capped_points,
    coalesce(
        posted.period,
        case
            when {{ period_of('entries.effective_at') }} <= last_closed.period
                then to_char(to_date(last_closed.period || '-01', 'YYYY-MM-DD') + interval '1 month', 'YYYY-MM')
            else {{ period_of('entries.effective_at') }}
        end
    )::char(7) as period,
    entries.effective_at::timestamptz as effective_at
from entries
left join posted on entries.entry_id = posted.entry_id
cross join last_closed
