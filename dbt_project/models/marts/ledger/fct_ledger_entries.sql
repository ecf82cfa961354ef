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
--
-- Incremental: a posted entry never changes (the ledger is append-only), so a build adds the
-- entries posted since its last build and those of the days between its last build's night and
-- this one's, and computes again every entry not posted: those of the points after caps in the
-- periods computed since (int_points_capped_by_period's `_built_at`), those it held unposted
-- before in the periods not computed since, and every bonus, tier bonus and correction (tables
-- of thousands of rows). Its strategy (get_incremental_ledger_mart_sql, macros/ledger.sql) writes
-- only what differs from what is stored and deletes the entries not posted that the build did
-- not compute (the rules no longer call for them). A night earlier than the last build's
-- computes the whole mart again (what later nights posted goes).
-- Until it was incremental the mart was built again from all history whenever the ledger
-- changed: 29.7 s of the incremental night and 31.1 s of the next one at L (bench/RESULTS.md).

{{ config(
    materialized='incremental',
    incremental_strategy='ledger_mart',
    unique_key='entry_id',
    on_schema_change='append_new_columns',
    post_hook=[
        "{{ index_on('unposted', 'entry_id', where='not posted') }}",
        "{{ index_on('built', 'program, _built_at') }}",
    ],
) }}

{#- read only when incremental (dbt's graph needs every ref when it parses) -#}
{% for part in points_earned_parts()[1:] %}
-- depends_on: {{ ref(part) }}
{% endfor %}

{% set marks = ledger_marks() %}
{% set incremental = is_incremental_over(marks) and not built_for_a_later_night() %}
{% set entry_columns = 'entry_id, entry_kind, source_kind, source_id, employee_id, version_id, rule_id,'
    ~ ' attribution_weight, rule_points, multiplier, points, capped_points, channel, feedback_kind, score, effective_at' %}
{% set mart_columns = 'entry_id, version_id, employee_id, entry_kind, source_kind, source_id, rule_id,'
    ~ ' attribution_weight, multiplier, points, capped_points, period, effective_at' %}

with

{{ watermark_ctes(marks, incremental, from_latest_row=true, known=true) }}

called_for as (

    -- what the rules call for now ({% if incremental %}all that can be not posted yet{% else %}all of it{% endif %})
    {% if incremental -%}
    select p.{{ entry_columns | replace(', ', ', p.') }}, {{ period_of('p.effective_at') }} as natural_period
    from {{ ref('int_points_capped_by_period') }} as p, previous
    where p.program = '{{ var("program") }}' and p.entry_id is not null
        and p._built_at > coalesce(previous.capped_built_at, '-infinity')
    union all
    -- held not posted by the last build, in a period not computed since (so as it was then)
    select p.{{ entry_columns | replace(', ', ', p.') }}, {{ period_of('p.effective_at') }}
    from {{ this }} as m
    inner join {{ ref('int_points_capped_by_period') }} as p
        on p.program = m.program and p.source_kind = m.source_kind and p.source_id = m.source_id
        and p.entry_id = m.entry_id
    cross join previous
    where not m.posted and p._built_at <= previous.capped_built_at
    {%- for part in points_earned_parts()[1:] %}
    union all
    select {{ entry_columns }}, {{ period_of('effective_at') }} from {{ ref(part) }}
    {%- endfor %}
    {%- else -%}
    select {{ entry_columns }}, {{ period_of('effective_at') }} as natural_period from {{ ref('int_points_earned') }}
    {%- endif %}
    union all
    select {{ entry_columns }}, {{ period_of('effective_at') }} from {{ ref('int_tier_bonuses') }}
    union all
    select
        entry_id, entry_kind, source_kind, source_id, employee_id, version_id, rule_id,
        attribution_weight, rule_points, multiplier, points, capped_points,
        channel, feedback_kind, score, effective_at, corrected_period
    from {{ ref('int_ledger_corrections') }}

),

posted as (

    -- up to the night: running an earlier night again leaves out what later nights posted
    select l.*
    from {{ ref('stg_plaudit__ledger_entries') }} as l{% if incremental %}, previous{% endif %}
    where l.effective_at < {{ night_end() }}
    {%- if incremental %}
        and (l.posted_at > coalesce(previous.ledger_posted_at, '-infinity')
            or l.effective_at >= coalesce(previous.night_end, '-infinity'))
    {%- endif %}

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
        end as period
    from called_for
    cross join last_closed
    left join last_awarded on called_for.employee_id = last_awarded.employee_id
    where not exists (
        select 1 from {{ ref('stg_plaudit__ledger_entries') }} as already where already.entry_id = called_for.entry_id
    )

),

placed as (

    select {{ mart_columns }}, true as posted from posted
    union all
    select {{ mart_columns }}, false from to_post

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
    posted,
    {{ watermark_columns(marks) }},
    now() as _built_at
from placed, this_build
-- in the order of the primary key: the table is written with its index, and ids in hash order
-- land all over it (7 M entries at L: 110 s, 46 s sorted; without the index the query is 23 s)
order by entry_id
