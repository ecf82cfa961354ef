-- Fairness's sums by day: for each employee, day, channel and queue, the feedback they were
-- credited for (attributed credits of a scored kind, while the program covered them), as
--
--   responses       the responses
--   weight          Σ w, their attribution weights
--   weighted_score  Σ w·x, x the score on [0, 1] (normalised_score)
--
-- int_employee_fairness_periods adds a period's days up: every term of fairness is a sum of
-- these (a response has one day, channel and queue), so a night reads the month's sums, written
-- in day order, instead of every credit of the month again. At L on Oct 31, reading the 1.58
-- million credits of October took 10.5 s (a page each), and the month 16.2 s; now this model's
-- day takes 0.9 s, and the periods' month 2.8 s (2026-12-05, bench/RESULTS.md).
--
-- Incremental by day (delete+insert on program, period and entry_day): a build computes again
-- the days of the credits written since its last build of the program (new, recomputed or
-- withdrawn feedback, or feedback whose interaction moved to another queue) and of the feedback
-- of employees loaded or changed since. A day computed again that nobody is in any more gets a
-- marker row (no employee), so that the periods see it change.

{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['program', 'period', 'entry_day'],
    on_schema_change='sync_all_columns',
    post_hook=[
        "{{ index_on('day', 'program, period, entry_day') }}",
        "{{ index_on('built', 'program, _built_at') }}",
    ],
) }}

{% set marks = {
    'credits_built_at': 'select max(_built_at) from credits',
    'employees_ingested_at': 'select max(ingested_at) from employees',
} %}
{% set incremental = is_incremental_over(marks) %}

with

credits as not materialized (

    select * from {{ ref('int_feedback_credits') }}
    where program = '{{ var("program") }}'

),

employees as not materialized (

    select * from {{ ref('stg_raw__employees') }}

),

{# (the marks of the latest row, through the (program, _built_at) index: as the max over every row,
    they read the whole table each night, 8.2 million rows at L) #}
{{ watermark_ctes(marks, incremental, from_latest_row=true) }}

{% if incremental %}

changed_days as (

    select {{ day_of('c.responded_at') }} as entry_day
    from credits as c, previous
    where c._built_at > coalesce(previous.credits_built_at, '-infinity')

    union

    select {{ day_of('c.responded_at') }}
    from credits as c
    inner join employees as e on c.employee_id = e.employee_id
    cross join previous
    where e.ingested_at > coalesce(previous.employees_ingested_at, '-infinity')

),

-- as time ranges, so the credits of a day are read through their index
changed_ranges as (

    select entry_day, {{ day_bounds('entry_day') }}
    from changed_days
    where entry_day is not null

),

{% endif %}

credited as (

    select c.*
    {% if incremental %}
        from {{ rows_in_ranges('credits', 'responded_at') }} as c
    {% else %}
        from credits as c
    {% endif %}
    where c.employee_id is not null and c.credit_kind = 'attributed'
        and c.feedback_kind in ('csat', 'stars', 'nps', 'ces', 'thumbs')

),

eligibility as (

    select * from {{ ref('stg_program__eligibility') }}
    where program = '{{ var("program") }}'

),

employee_versions as (

    select * from {{ ref('stg_raw__employee_history') }}

),

scored as (

    select
        c.employee_id,
        c.response_id,
        c.attribution_weight as w,
        {{ normalised_score('c.feedback_kind', 'c.score') }} as x,
        {{ day_of('c.responded_at') }} as entry_day,
        c.channel,
        c.queue
    from credited as c
    inner join employee_versions as e
        on c.employee_id = e.employee_id
        and c.responded_at >= e.valid_from
        and c.responded_at < e.valid_to
    where {{ covered_by_program('eligibility', 'e', 'c.version_id', 'c.responded_at') }}

),

days as (

    select
        to_char(entry_day, 'YYYY-MM')::char(7) as period,
        entry_day,
        employee_id,
        channel,
        queue,
        count(distinct response_id)::bigint as responses,
        sum(w)::numeric as weight,
        sum(w * x)::numeric as weighted_score
    from scored
    group by entry_day, employee_id, channel, queue

)

select
    '{{ var("program") }}'::text as program,
    days.*,
    {{ watermark_columns(marks) }},
    now() as _built_at
from days
cross join this_build
{% if incremental %}

union all

-- a day computed again that nobody is in any more: a marker replaces its rows
-- (types spelled out, so that sync_all_columns never rewrites a column)
select
    '{{ var("program") }}'::text, to_char(r.entry_day, 'YYYY-MM')::char(7), r.entry_day, null::text, null::text,
    null::text, null::bigint, null::numeric, null::numeric, {{ watermark_columns(marks) }}, now()
from (select entry_day from changed_ranges except select entry_day from days) as r
cross join this_build
{% endif %}
-- in day order: a period's days are read together
order by period, entry_day
