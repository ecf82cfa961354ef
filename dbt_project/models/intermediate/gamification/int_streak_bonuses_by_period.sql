-- Streaks, by the period (UTC month) of the day that completes them: `days` working days
-- (Monday to Friday, UTC) in a row, each with positive feedback, earn the streak's points; a
-- run of twice that length earns them twice. Weekend days neither count nor break a run. The
-- bonus lands on the day that completes the streak, under the version in force at that day's
-- last event.
--
-- Working days are numbered without weekends (week × 5 + weekday), so a run is an island of
-- consecutive numbers (gaps and islands); `run_days` is how many days the run has reached.
--
-- Incremental by period (program, period), as int_event_bonuses_by_period: a build computes
-- again every period from the earliest one whose positive feedback can have changed since its
-- last build of the program (the periods of the capped points computed since; every period
-- when the program was loaded since or never built here). A run that reaches into that period
-- goes on from where it stood: each period keeps one row per employee for its last working day
-- with positive feedback (`run_days` then, no entry), and a run whose first day in the
-- recomputed periods is the working day after an employee's last stored one continues it. A
-- period computed again replaces its rows (delete+insert); a marker row (no employee) stands for
-- each one stored, so one left with nothing replaces its old rows. int_streak_bonuses is this
-- table's entries for the night's program. Before, every run was counted over all history each
-- night (13 s of a night at L, bench/RESULTS.md).

{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['program', 'period'],
    on_schema_change='sync_all_columns',
    post_hook=[
        "{{ index_on('period', 'program, period') }}",
        "{{ index_on('built', 'program, _built_at') }}",
    ],
) }}

{% set marks = {
    'capped_built_at': 'select max(_built_at) from capped',
    'program_loaded_at': 'select max(loaded_at) from versions',
} %}
{% set incremental = is_incremental_over(marks) %}

{#- what the marks read: in the statement, and on their own first (from_period_cte) -#}
{% set inputs -%}
capped as not materialized (

    select * from {{ ref('int_points_capped_by_period') }} where program = '{{ var("program") }}'

),

versions as (

    select * from {{ ref('stg_program__versions') }} where program = '{{ var("program") }}'

),
{%- endset %}

with

events as not materialized (

    select * from {{ ref('int_employee_events') }}
    where metric = 'positive_feedback'

),

{{ inputs }}

streaks as (

    select * from {{ ref('stg_program__streaks') }}
    where program = '{{ var("program") }}'

),

{{ watermark_ctes(marks, incremental, from_latest_row=true) }}

{% if incremental %}

-- the earliest period to compute again (from_period_cte): from the periods changed since
{% set changed %}
            select c.period
            from capped as c, previous
            where c._built_at > coalesce(previous.capped_built_at, '-infinity')
{% endset %}
{{ from_period_cte(marks, inputs, changed) }},

-- where each employee's run stood before that period: their latest stored last day
carried as (

    select distinct on (t.employee_id) t.employee_id, t.working_day_no, t.run_days
    from {{ this }} as t, from_period
    where t.program = '{{ var("program") }}' and t.period < from_period.period
        and t.entry_id is null and t.employee_id is not null
    order by t.employee_id, t.period desc

),

{% endif %}

days as (

    select
        e.employee_id,
        {{ day_of('e.event_at') }} as event_day,
        max(e.event_at) as last_event_at,
        -- the version in force at the day's last event
        (array_agg(e.version_id order by e.event_at desc, e.event_id desc))[1] as version_id
    from events as e
    {% if incremental %}
        inner join from_period on e.event_at >= from_period.starts_at
    {% endif %}
    where extract(isodow from {{ day_of('e.event_at') }}) <= 5
        -- (a program with no streak keeps nothing: loading one with streaks computes every period)
        and exists (select 1 from streaks)
    group by e.employee_id, {{ day_of('e.event_at') }}

),

numbered as (

    select
        days.*,
        {{ period_of('days.last_event_at') }} as period,
        -- 2001-01-01 was a Monday
        ((event_day - date '2001-01-01') / 7) * 5
            + (extract(isodow from event_day)::integer - 1) as working_day_no
    from days

),

islands as (

    select
        numbered.*,
        working_day_no - row_number() over (partition by employee_id order by event_day) as island
    from numbered

),

positioned as (

    select
        i.*,
        row_number() over (partition by i.employee_id, i.island order by i.event_day)
        {% if incremental %}
            -- a run that begins on the working day after the carried last day goes on from it
            + case when min(i.working_day_no) over (partition by i.employee_id, i.island) = c.working_day_no + 1
                then c.run_days else 0 end
        {% endif %}
            as run_days
    from islands as i
    {% if incremental %}
        left join carried as c on i.employee_id = c.employee_id
    {% endif %}

)

select
    '{{ var("program") }}'::text as program,
    v.period,
    {{ bonus_entry('streak_bonus', "s.streak_id || ':' || to_char(v.event_day, 'YYYY-MM-DD')", 'v.employee_id',
        'v.version_id', 's.streak_id', 's.points', 'v.last_event_at') }},
    v.working_day_no,
    v.run_days,
    {{ watermark_columns(marks) }},
    now() as _built_at
from positioned as v
inner join streaks as s
    on v.version_id = s.version_id
    and v.run_days % s.streak_days = 0
cross join this_build

union all

-- each employee's last working day with positive feedback in each period, where their run stood
select
    '{{ var("program") }}'::text, l.period, {{ no_bonus_entry('l.employee_id') }},
    l.working_day_no, l.run_days, {{ watermark_columns(marks) }}, now()
from (
    select distinct on (employee_id, period) period, employee_id, working_day_no, run_days
    from positioned
    order by employee_id, period, event_day desc
) as l
cross join this_build
{% if incremental %}

union all

-- one marker for each stored period computed again, so that one left with nothing replaces its old rows
select
    '{{ var("program") }}'::text, s.period, {{ no_bonus_entry('null::text') }},
    null::integer, null::bigint, {{ watermark_columns(marks) }}, now()
from (
    select distinct t.period
    from {{ this }} as t, from_period
    where t.program = '{{ var("program") }}' and t.period >= from_period.period
) as s
cross join this_build
{% endif %}
