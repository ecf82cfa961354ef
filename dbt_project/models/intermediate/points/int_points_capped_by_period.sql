-- Points after the program's caps: per employee per UTC day (`caps.per_day`),
-- then per period (`caps.per_month`), each the cap of the entry's version.
-- Entries fill a cap in order: those already posted to the ledger first (so a
-- late arrival never changes what was posted), then by time and id. An entry
-- past a cap keeps what still fits; the rest is recorded as capped_points,
-- never silently dropped. Negative points (when a program allows them) pass
-- through and do not count toward a cap. Feedback held by a gaming flag that
-- nobody cleared earns nothing (int_gaming_flags), and so does retracted feedback.
--
-- Incremental by day within a period (program, period, entry_day): caps fill within an
-- employee's day and period, so a build computes again, in each period that can have changed
-- since its last build of the program, the days from the earliest one that can have changed to
-- the period's end: the days of the points written since (new, changed or gone sources; the day
-- a source was on, too), of the gaming flag days computed since, of the flags decided and the
-- feedback retracted since. What the days before it filled of the month's cap is read from their
-- stored rows (`day_points`, an entry's points after the day's cap and before the month's): they
-- fill first, being earlier, unless an entry posted to the ledger is among the days computed
-- again (posted entries fill first, whatever their day), when the whole period is computed again.
-- So a night that adds a day computes that day, where it computed the month so far (at L a
-- month's end took 29.4 s: 1 million entries selected, sorted, deleted and written again; now 2.4 s).
-- Publishing does not make a day change: the ledger posts every entry of this table in one
-- transaction, so the entries posted at once keep the order they filled in, after those posted
-- before (a build after a publication computed every period posted to again: at M the next
-- night's caps took 19.5 s for the whole of history). A day computed again replaces its rows
-- (delete+insert); a marker row (no entry) stands for each day from the first computed again to
-- the period's end, so one left with nothing replaces its old rows.
-- `_built_at` is when a day was last computed (int_event_bonuses_by_period and the other models
-- by period read the periods of the rows computed since their own last build).
-- int_points_capped is this table for the night's program, without markers.
-- The index on (program, effective_at) serves the points from a time on, which the streaks and
-- the milestones read for the periods they compute (int_employee_events): 2.9 s at L without it,
-- 0.12 s with it. It costs the night's insert about 0.4 s there (a month's 140 thousand rows:
-- 1.7-2.2 s without, 2.3-2.4 s with).
-- Rows written before 2026-12-05 were by period and have no `entry_day`: the first build of a
-- program since computes everything, and a post-hook deletes its rows of the old kind.

{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['program', 'period', 'entry_day'],
    on_schema_change='sync_all_columns',
    post_hook=[
        "{{ index_on('day', 'program, period, entry_day') }}",
        "{{ drop_index_on('period') }}",
        "{{ delete_rows_without('entry_day') }}",
        "{{ index_on('source', 'program, source_kind, source_id') }}",
        "{{ index_on('built', 'program, _built_at') }}",
        "{{ index_on('effective', 'program, effective_at') }}",
    ],
) }}

{% set marks = {
    'points_built_at': 'select max(_built_at) from points_by_source',
    'flags_built_at': 'select max(_built_at) from flag_days',
    'decided_at': 'select max(decided_at) from decided',
    'retracted_at': 'select max(retracted_at) from retracted',
} %}
{% set incremental = is_incremental_over_rows_with(marks, ['entry_day', 'day_points']) %}

with

points_by_source as not materialized (

    select * from {{ ref('int_points_by_source') }}
    where program = '{{ var("program") }}'

),

flag_days as not materialized (

    select * from {{ ref('int_gaming_flags_by_day') }}
    where program = '{{ var("program") }}'

),

flags as (

    select * from flag_days where flag_id is not null

),

decided as (

    select * from {{ ref('stg_plaudit__gaming_flags') }}

),

retracted as (

    select * from {{ ref('stg_plaudit__feedback_retractions') }}

),

versions as (

    select * from {{ ref('stg_program__versions') }}
    where program = '{{ var("program") }}'

),

posted as not materialized (

    select * from {{ ref('stg_plaudit__ledger_entries') }}

),

{{ watermark_ctes(marks, incremental, from_latest_row=true) }}

{% if incremental %}

changed_days as (

    -- (markers too: a source that earns nothing now keeps its time)
    select {{ day_of('p.effective_at') }} as day
    from points_by_source as p, previous
    where p._built_at > coalesce(previous.points_built_at, '-infinity')

    union

    -- the day a source written since was on before
    select t.entry_day
    from {{ this }} as t
    inner join points_by_source as p on t.source_kind = p.source_kind and t.source_id = p.source_id
    cross join previous
    where t.program = '{{ var("program") }}' and p._built_at > coalesce(previous.points_built_at, '-infinity')

    union

    -- (a flag holds feedback, whose points are on the UTC day of the rating: the flag's day)
    select f.flag_day
    from flag_days as f, previous
    where f._built_at > coalesce(previous.flags_built_at, '-infinity')

    union

    select f.flag_day
    from decided as d
    inner join flags as f on d.flag_id = f.flag_id
    cross join previous
    where d.decided_at > coalesce(previous.decided_at, '-infinity')

    union

    select {{ day_of('p.effective_at') }}
    from retracted as r
    inner join points_by_source as p on p.source_kind = 'feedback' and r.response_id = p.source_id
    cross join previous
    where r.retracted_at > coalesce(previous.retracted_at, '-infinity')

),

-- each period's earliest changed day, as the time it starts
changed_from as (

    select to_char(day, 'YYYY-MM') as period, min(day)::timestamp at time zone 'UTC' as from_at
    from changed_days
    where day is not null
    group by 1

),

-- as time ranges, so the points of a period are read through their index: from the earliest changed
-- day to the period's end, or the whole period when the ledger holds a posted entry of the caps in
-- that span (read through the ledger's (program, effective_at) index: none on an ordinary night)
changed_ranges as (

    select
        c.period,
        case
            when exists (
                select 1 from posted as l
                where l.effective_at >= c.from_at and l.effective_at < b.ends_at
                    and l.source_kind in ('feedback', 'nomination')
            ) then b.starts_at
            else c.from_at
        end as starts_at,
        b.ends_at
    from changed_from as c
    cross join lateral (select {{ period_bounds('c.period') }}) as b

),

-- what the entries of each period's days before those computed again filled of its month cap
filled_before as (

    select t.employee_id, r.period, sum(greatest(t.day_points, 0)) as filled
    from changed_ranges as r
    cross join lateral (
        select s.employee_id, s.day_points
        from {{ this }} as s
        where s.program = '{{ var("program") }}' and s.period = r.period
            and s.entry_day < {{ day_of('r.starts_at') }} and s.entry_id is not null
        offset 0
    ) as t
    group by t.employee_id, r.period

),

{% endif %}

points as (

    {% if incremental %}
        -- (as a join, every point was matched with the ledger and sorted before the ranges filtered them)
        select p.* from {{ rows_in_ranges('points_by_source', 'effective_at') }} as p
    {% else %}
        select p.* from points_by_source as p
    {% endif %}
    where p.employee_id is not null and not exists (
        select 1 from flags as f
        where p.source_kind = f.source_kind and p.source_id = f.source_id and p.employee_id = f.employee_id
            and not exists (select 1 from decided as d where d.flag_id = f.flag_id and d.status = 'cleared')
    )
    and not (p.source_kind = 'feedback' and exists (select 1 from retracted as r where r.response_id = p.source_id))

),

identified as (

    select
        {{ ledger_entry_id('p.source_kind', 'p.source_id', 'p.employee_id', 'p.entry_kind') }} as entry_id,
        p.*,
        {{ day_of('p.effective_at') }} as entry_day,
        {{ period_of('p.effective_at') }} as period,
        v.cap_per_day,
        v.cap_per_month,
        greatest(p.points, 0) as cappable_points
    from points as p
    inner join versions as v on p.version_id = v.version_id

),

ordered as (

    select
        i.*,
        row_number() over (
            partition by i.employee_id
            order by posted.posted_at nulls last, i.effective_at, i.entry_kind, i.source_id
        ) as fill_order
    from identified as i
    {% if incremental %}
        -- (looked up: joined, the whole ledger was hashed for a day's entries)
        left join {{ looked_up('posted', 'l', 'l.entry_id = i.entry_id', 'l.posted_at') }} as posted on true
    {% else %}
        left join posted on i.entry_id = posted.entry_id
    {% endif %}

),

day_capped as (

    select
        ordered.*,
        case
            when cap_per_day is null or points <= 0 then points
            else greatest(0, least(
                points,
                cap_per_day - (sum(cappable_points) over (
                    partition by employee_id, entry_day order by fill_order
                    rows between unbounded preceding and current row
                ) - cappable_points)
            ))
        end as day_points
    from ordered

),

month_capped as (

    select
        day_capped.*,
        case
            when cap_per_month is null or day_points <= 0 then day_points
            else greatest(0, least(
                day_points,
                cap_per_month - ({{ 'coalesce(fb.filled, 0) + ' if incremental }}sum(greatest(day_points, 0)) over (
                    partition by day_capped.employee_id, day_capped.period order by fill_order
                    rows between unbounded preceding and current row
                ) - greatest(day_points, 0))
            ))
        end as allowed_points
    from day_capped
    {% if incremental %}
        left join filled_before as fb on day_capped.employee_id = fb.employee_id and day_capped.period = fb.period
    {% endif %}

)

select
    '{{ var("program") }}'::text as program,
    mc.period,
    mc.entry_id,
    mc.entry_kind,
    mc.source_kind,
    mc.source_id,
    mc.employee_id,
    mc.version_id,
    mc.rule_id,
    mc.attribution_weight,
    mc.rule_points,
    mc.multiplier,
    mc.allowed_points::numeric(12, 2) as points,
    (mc.points - mc.allowed_points)::numeric(12, 2) as capped_points,
    mc.channel,
    mc.feedback_kind,
    mc.score,
    mc.effective_at,
    mc.entry_day,
    mc.day_points::numeric as day_points,
    {{ watermark_columns(marks) }},
    now() as _built_at
from month_capped as mc
cross join this_build
{% if incremental %}

union all

-- one marker for each day computed again, so that one left with nothing replaces its old rows
-- (the types with a modifier spelled out, so that sync_all_columns never rewrites a column)
select
    '{{ var("program") }}'::text, r.period, null, null, null, null, null, null, null, null::numeric(9, 6),
    null::numeric(12, 2), null::numeric(8, 4), null::numeric(12, 2), null::numeric(12, 2), null, null, null, null,
    d.day::date, null::numeric,
    {{ watermark_columns(marks) }}, now()
from changed_ranges as r
cross join generate_series(
    {{ day_of('r.starts_at') }}, {{ day_of('r.ends_at') }} - 1, interval '1 day'
) as d (day)
cross join this_build
{% endif %}
-- in the order of the (program, period, entry_day) index: the days before those a build computes
-- again are read through it (what they filled of the month's cap), and a month's rows written
-- in employee order (the windows') were spread over all its pages: at L, 5.8 s to read them at a
-- month's end, against 0.3 s in order
order by period, entry_day
