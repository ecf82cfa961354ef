-- Each employee's posted ledger entries up to the night, summed: the balance, how many entries,
-- the latest, and the points of the last twelve months without tier bonuses (what the tiers
-- read). fct_employee_balances adds the entries not posted yet (the ledger mart's few).
--
-- Incremental by arithmetic: the ledger is append-only, so a build adds to the totals it stored
-- the entries that came into scope since its last build (posted since, or of the days since its
-- last night, which an earlier night run again had left out) and takes out of the twelve months
-- the entries the night moved past. Only the entries up to this build's mark are read: one posted
-- while the build runs is added by the next build, never twice. A night earlier than the last
-- build's, no totals stored, or a quarter of the ledger or more posted since (the catch-up at the
-- end of a first night or a backfill, flows/nightly.py) sums the whole ledger. Before 2026-12-04
-- the balances summed the whole ledger mart whenever it changed, that is after every
-- publication: at L 7 to 9 s a night.

{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['program', 'employee_id'],
    tags=['ledger_catch_up'],
    on_schema_change='sync_all_columns',
    post_hook=["{{ index_on('built', 'program, _built_at') }}"],
) }}

{% set marks = ledger_marks(caps=false) %}
{% set incremental = is_incremental_over(marks) and not built_for_a_later_night()
    and not much_of_the_ledger_posted_since() %}
{% set window_start = "this_build.night_end - interval '1 year'" %}

with

{{ watermark_ctes(marks, incremental, from_latest_row=true, known=true) }}

entering as (

    -- in scope now and not at the last build: up to the night, and up to this build's mark
    select l.employee_id, l.entry_kind, l.points, l.effective_at
    from {{ ref('stg_plaudit__ledger_entries') }} as l
    cross join this_build{% if incremental %}
    cross join previous{% endif %}
    where l.effective_at < this_build.night_end
        and l.posted_at <= this_build.ledger_posted_at
    {%- if incremental %}
        and (l.posted_at > coalesce(previous.ledger_posted_at, '-infinity')
            or l.effective_at >= coalesce(previous.night_end, '-infinity'))
    {%- endif %}

),

{% if incremental %}
leaving_window as (

    -- in scope at the last build, and now older than twelve months
    select l.employee_id, -sum(l.points) as points
    from {{ ref('stg_plaudit__ledger_entries') }} as l, previous, this_build
    where l.entry_kind <> 'tier_bonus'
        and l.effective_at >= previous.night_end - interval '1 year'
        and l.effective_at < {{ window_start }}
        and l.effective_at < previous.night_end
        and l.posted_at <= previous.ledger_posted_at
    group by l.employee_id

),
{% endif %}

changes as (

    select
        employee_id,
        sum(points) as balance_points,
        count(*) as entry_count,
        max(effective_at) as last_entry_at,
        coalesce(sum(points) filter (where entry_kind <> 'tier_bonus' and effective_at >= {{ window_start }}), 0)
            as rolling_12m_points
    from entering, this_build
    group by employee_id
    {%- if incremental %}
    union all
    select employee_id, 0, 0, null, points from leaving_window
    {%- endif %}

),

totals as (

    select
        c.employee_id,
        sum(c.balance_points) as balance_points,
        sum(c.entry_count) as entry_count,
        max(c.last_entry_at) as last_entry_at,
        sum(c.rolling_12m_points) as rolling_12m_points
    from (
        select * from changes
        {%- if incremental %}
        union all
        -- what the last builds summed, for the employees with a change
        select t.employee_id, t.balance_points, t.entry_count, t.last_entry_at, t.rolling_12m_points
        from {{ this }} as t
        where t.program = '{{ var("program") }}' and t.employee_id in (select employee_id from changes)
        {%- endif %}
    ) as c
    group by c.employee_id

)

select
    '{{ var("program") }}'::text as program,
    employee_id::text as employee_id,
    balance_points::numeric(14, 2) as balance_points,
    entry_count::bigint as entry_count,
    last_entry_at::timestamptz as last_entry_at,
    rolling_12m_points::numeric(14, 2) as rolling_12m_points,
    {{ watermark_columns(marks) }},
    now() as _built_at
from totals, this_build
