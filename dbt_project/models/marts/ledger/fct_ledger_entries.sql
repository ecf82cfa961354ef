-- Every ledger entry up to the night: those already posted, as they were posted, and those the
-- rules call for that are not posted yet: feedback and nomination points (after caps),
-- comment-named bonuses, streaks, milestones, challenges, leaderboard points, tier bonuses and
-- corrections. Entry ids are deterministic: a hash of program, source, employee and entry kind.
-- Neither the matched rule nor the program version is part of the id: a corrected score or a
-- re-versioned program maps to the same entry, so nothing can be posted twice. The publish step
-- posts the entries not posted with "on conflict do nothing".
--
-- A posted entry is the ledger's row, whatever the rules say now: when they say something else
-- (the feedback was retracted, re-attributed, its score corrected, or it is held by a gaming
-- flag), int_ledger_corrections and `plaudit flags confirm` add compensating entries, and the
-- entry's net is the posted row plus them. So the mart sums to the ledger once its entries are
-- posted, and a balance (fct_employee_balances) or a period's points (int_award_candidates) is
-- what finance sees in plaudit.ledger_entries. (Until 2026-12-04 a posted entry carried the
-- rules' current points, and one the rules no longer produced was left out: after a retraction
-- the balance was short of the ledger by the retracted points.)
--
-- Period: the UTC month of the feedback (a correction: the period of the entry it corrects),
-- except that an entry not yet posted is late when finance has closed that month or the
-- employee's periodic award for it already exists; a late entry lands in the next open period,
-- the month after the later of the last closed period and the employee's last periodic award. So
-- late feedback never changes a closed period or an award already made, and a correction to an
-- already paid award is an adjustment in the next open period. A posted entry keeps its period.
--
-- `posted` says whether the entry was already in the ledger when the mart was built; a partial
-- index holds the others. fct_ledger_entries_to_post reads them through it: the expectations and
-- the publish step look at what the night would post, not at all history (at L, seven million
-- entries validated every night cost 15 to 49 s of the night).

{{ config(post_hook=["{{ index_on('unposted', 'entry_id', where='not posted') }}"]) }}

with

called_for as (

    -- what the rules call for now
    select *, {{ period_of('effective_at') }} as natural_period from {{ ref('int_points_earned') }}
    union all
    select *, {{ period_of('effective_at') }} from {{ ref('int_tier_bonuses') }}
    union all
    select
        entry_id, entry_kind, source_kind, source_id, employee_id, version_id, rule_id,
        attribution_weight, rule_points, multiplier, points, capped_points,
        channel, feedback_kind, score, effective_at, corrected_period
    from {{ ref('int_ledger_corrections') }}

),

posted as (

    -- up to the night: running an earlier night again leaves out what later nights posted
    select * from {{ ref('stg_plaudit__ledger_entries') }}
    where effective_at < {{ night_end() }}

),

last_closed as (

    select max(period) as period from {{ ref('stg_plaudit__period_closes') }}

),

last_awarded as (

    -- each employee's latest periodic award (carried awards, not in it, reconsider an older one)
    select employee_id, max(period) as period
    from {{ ref('int_periodic_awards_made') }}
    where program = '{{ var("program") }}'
    group by employee_id

),

to_post as (

    select
        called_for.*,
        case
            when called_for.natural_period <= last_closed.period or called_for.natural_period <= last_awarded.period
                then {{ next_period('greatest(last_closed.period, last_awarded.period)') }}
            else called_for.natural_period
        end as period,
        false as posted
    from called_for
    cross join last_closed
    left join last_awarded on called_for.employee_id = last_awarded.employee_id
    where not exists (
        select 1 from {{ ref('stg_plaudit__ledger_entries') }} as already where already.entry_id = called_for.entry_id
    )

),

placed as (

    select
        entry_id, version_id, employee_id, entry_kind, source_kind, source_id, rule_id,
        attribution_weight, multiplier, points, capped_points, period, effective_at, true as posted
    from posted
    union all
    select
        entry_id, version_id, employee_id, entry_kind, source_kind, source_id, rule_id,
        attribution_weight, multiplier, points, capped_points, period, effective_at, posted
    from to_post

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
    period::char(7) as period,
    effective_at::timestamptz as effective_at,
    posted
from placed
-- in the order of the primary key: the table is written with its index, and ids in hash order
-- land all over it (7 M entries at L: 110 s, 46 s sorted; without the index the query is 23 s)
order by entry_id
