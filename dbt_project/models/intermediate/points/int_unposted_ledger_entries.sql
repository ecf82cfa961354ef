-- The ledger entries the rules call for up to the night that are not in the ledger yet: feedback
-- and nomination points (after caps), comment-named bonuses, streaks, milestones, challenges,
-- leaderboard points, tier bonuses and corrections. The publish step posts them (through
-- fct_ledger_entries_to_post); fct_ledger_entries is the ledger's entries and these.
--
-- Entry ids are deterministic: a hash of program, source, employee and entry kind. Neither the
-- matched rule nor the program version is part of the id: a corrected score or a re-versioned
-- program maps to the same entry, so nothing can be posted twice. A posted entry is the ledger's
-- row, whatever the rules say now: when they say something else (the feedback was retracted,
-- re-attributed, its score corrected, or it is held by a gaming flag), int_ledger_corrections and
-- `plaudit flags confirm` add compensating entries.
--
-- Period: the UTC month of the feedback (a correction: the period of the entry it corrects),
-- except that an entry is late when finance has closed that month or the employee's periodic
-- award for it already exists; a late entry lands in the next open period, the month after the
-- later of the last closed period and the employee's last periodic award. So late feedback never
-- changes a closed period or an award already made, and a correction to an already paid award is
-- an adjustment in the next open period.
--
-- Incremental: a build computes again the entries of the points after caps in the periods
-- computed since its last build (int_points_capped_by_period's `_built_at`), those it held before
-- in the periods not computed since (less what was posted since), and every bonus, tier bonus and
-- correction (tables of thousands of rows). Its strategy (get_incremental_unposted_entries_sql,
-- macros/ledger.sql) writes only what differs from what is stored and deletes what the build did
-- not compute (posted since, or no longer called for). A marker row (entry_id '') keeps the
-- marks when no entry is left: without it, the night after one that posted everything computed
-- it all again (1.1 s at M). A night earlier than the last build's, or one after a quarter of the
-- ledger or more was posted (the catch-up at the end of a first night: every entry held was
-- posted), computes it whole: at L, the anti-join of seven million entries with the ledger takes
-- about 6 s, where reading the held entries and the posted ones to set them apart took 25 s.
--
-- Until 2026-12-05 this was the ledger mart itself, a table holding the posted entries too (a
-- copy of the ledger) with a `posted` flag: the night after the full night wrote all seven million
-- of its rows again to set the flag (65 s of that night at L, bench/RESULTS.md).

{{ config(
    materialized='incremental',
    incremental_strategy='unposted_entries',
    unique_key='entry_id',
    tags=['ledger_catch_up'],
    on_schema_change='append_new_columns',
    post_hook=["{{ index_on('built', 'program, _built_at') }}"],
) }}

{#- read only when incremental (dbt's graph needs every ref when it parses) -#}
{% for part in points_earned_parts()[1:] %}
-- depends_on: {{ ref(part) }}
{% endfor %}

{% set marks = ledger_marks() %}
{% set incremental = is_incremental_over(marks) and not built_for_a_later_night()
    and not much_of_the_ledger_posted_since() %}
{% set entry_columns = 'entry_id, entry_kind, source_kind, source_id, employee_id, version_id, rule_id,'
    ~ ' attribution_weight, rule_points, multiplier, points, capped_points, channel, feedback_kind, score, effective_at' %}

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
    -- held by the last build, in a period not computed since (so as it was then)
    select p.{{ entry_columns | replace(', ', ', p.') }}, {{ period_of('p.effective_at') }}
    from {{ this }} as m
    inner join {{ ref('int_points_capped_by_period') }} as p
        on p.program = m.program and p.source_kind = m.source_kind and p.source_id = m.source_id
        and p.entry_id = m.entry_id
    cross join previous
    where p._built_at <= previous.capped_built_at
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

marked as (

    select entry_id, version_id, employee_id, entry_kind, source_kind, source_id, rule_id,
        attribution_weight, multiplier, points, capped_points, period, effective_at
    from to_post
    union all
    -- the marker row (entry_id ''): the build's marks stay when no entry is left (after a night
    -- that posted everything); each build reads those of the latest row written (watermark_ctes)
    select '', null, null, null, null, null, null, null, null, null, null, null, null

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
    {{ watermark_columns(marks) }},
    now() as _built_at
from marked, this_build
-- in the order of the primary key: the table is written with its index, and ids in hash order
-- land all over it (7 M entries at L: 110 s, 46 s sorted; without the index the query is 23 s)
order by entry_id
