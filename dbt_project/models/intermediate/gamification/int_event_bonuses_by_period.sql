-- Milestones and monthly challenges, by the period (UTC month) of the event that
-- earns them:
--
--   milestone  the `at`-th event of a metric in an employee's whole history (the
--              100th five-star rating, the 1,000th customer served) earns the
--              milestone's points once, under the version in force at that event
--   challenge  reaching `goal` events of a metric within one period earns the
--              challenge's points, once per period (or only in the challenge's
--              `period`, when it names one), under the version in force at the
--              event that reached the goal
--
-- Events are counted in time order (ties by event id).
--
-- Incremental by period (program, period): a build computes again every period from
-- the earliest one whose events can have changed since its last build of the program:
-- the periods of the capped points computed since, and of the customers served written
-- since (where a first touch is now, and where it was before). Every period when the
-- program was loaded since or never built here. A milestone counts the events before
-- that period from the tallies stored with each period: one row per employee, metric
-- and period with its number of events (`events`, no entry). A period computed again
-- replaces its rows (delete+insert); a marker row (no employee) stands for each one
-- stored, so one left with nothing replaces its old rows. int_event_bonuses is this
-- table's entries for the night's program. Before, the
-- milestones were counted over all history every night (7 s of an empty night at M).

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
    'served_built_at': 'select max(_built_at) from served',
    'program_loaded_at': 'select max(loaded_at) from versions',
} %}
{% set incremental = is_incremental_over(marks) %}

{#- what the marks read: in the statement, and on their own first (from_period_cte) -#}
{% set inputs -%}
capped as not materialized (

    select * from {{ ref('int_points_capped_by_period') }} where program = '{{ var("program") }}'

),

served as not materialized (

    select * from {{ ref('int_employee_served_events') }} where program = '{{ var("program") }}'

),

versions as (

    select * from {{ ref('stg_program__versions') }} where program = '{{ var("program") }}'

),
{%- endset %}

with

events as not materialized (

    select * from {{ ref('int_employee_events') }}

),

{{ inputs }}

milestones as (

    select * from {{ ref('stg_program__milestones') }}
    where program = '{{ var("program") }}'

),

challenges as (

    select * from {{ ref('stg_program__challenges') }}
    where program = '{{ var("program") }}'

),

counted_metrics as (

    select metric from milestones
    union
    select metric from challenges

),

{{ watermark_ctes(marks, incremental, from_latest_row=true) }}

{% if incremental %}

-- the earliest period to compute again (from_period_cte): from the periods changed since
{% set changed %}
            select c.period
            from capped as c, previous
            where c._built_at > coalesce(previous.capped_built_at, '-infinity')

            union all

            select {{ period_of('least(s.event_at, s._replaced_event_at)') }}
            from served as s, previous
            where s._built_at > coalesce(previous.served_built_at, '-infinity')
{% endset %}
{{ from_period_cte(marks, inputs, changed) }},

-- each employee's events of a metric before that period
before as (

    select t.employee_id, t.metric, sum(t.events) as events
    from {{ this }} as t, from_period
    where t.program = '{{ var("program") }}' and t.period < from_period.period and t.events is not null
    group by t.employee_id, t.metric

),

{% endif %}

counted as (

    select
        e.*,
        {{ period_of('e.event_at') }} as period,
        row_number() over (partition by e.employee_id, e.metric order by e.event_at, e.event_id) as no_from,
        row_number() over (
            partition by e.employee_id, e.metric, {{ period_of('e.event_at') }} order by e.event_at, e.event_id
        ) as no_in_period
    from events as e
    {% if incremental %}
        inner join from_period on e.event_at >= from_period.starts_at
    {% endif %}
    where e.metric in (select metric from counted_metrics)

),

numbered as (

    select
        c.*,
        {% if incremental %}
            coalesce(b.events, 0) + c.no_from as event_no
        {% else %}
            c.no_from as event_no
        {% endif %}
    from counted as c
    {% if incremental %}
        left join before as b on c.employee_id = b.employee_id and c.metric = b.metric
    {% endif %}

),

entries as (

    select
        n.period,
        {{ bonus_entry('milestone', 'm.milestone_id', 'n.employee_id', 'n.version_id', 'm.milestone_id',
            'm.points', 'n.event_at') }}
    from numbered as n
    inner join milestones as m
        on n.version_id = m.version_id
        and n.metric = m.metric
        and n.event_no = m.reached_at_count

    union all

    select
        n.period,
        {{ bonus_entry('challenge_bonus', "ch.challenge_id || ':' || n.period", 'n.employee_id', 'n.version_id',
            'ch.challenge_id', 'ch.points', 'n.event_at') }}
    from numbered as n
    inner join challenges as ch
        on n.version_id = ch.version_id
        and n.metric = ch.metric
        and n.no_in_period = ch.goal
        and (ch.challenge_period is null or ch.challenge_period = n.period)

)

select
    '{{ var("program") }}'::text as program,
    e.*,
    null::text as metric,
    null::bigint as events,
    {{ watermark_columns(marks) }},
    now() as _built_at
from entries as e
cross join this_build

union all

-- the tallies
select
    '{{ var("program") }}'::text, t.period, {{ no_bonus_entry('t.employee_id') }},
    t.metric, t.events, {{ watermark_columns(marks) }}, now()
from (
    select period, employee_id, metric, count(*) as events
    from counted
    group by period, employee_id, metric
) as t
cross join this_build
{% if incremental %}

union all

-- one marker for each stored period computed again, so that one left with nothing replaces its old rows
select
    '{{ var("program") }}'::text, s.period, {{ no_bonus_entry('null::text') }},
    null::text, null::bigint, {{ watermark_columns(marks) }}, now()
from (
    select distinct t.period
    from {{ this }} as t, from_period
    where t.program = '{{ var("program") }}' and t.period >= from_period.period
) as s
cross join this_build
{% endif %}
