-- Customers served: one row per (interaction, employee) who touched it, at their
-- first touch before the night's end, with the program version in force then,
-- when the program covered them at that moment. A pair computed again that is no
-- such event (not covered, or first touched after the night) gets a marker row with
-- no `event_at`, so its old row goes. int_employee_events reads the events, without
-- markers.
--
-- Incremental by pair: a build computes again only the pairs that can have changed
-- since its last build of the program: those with a touch loaded since, those of
-- the employees loaded or changed since (their coverage), and those touched between
-- the last build's night and this one's (a night later or earlier). Every pair when
-- the program was loaded since (its versions and eligibility) or never built here.
-- A pair computed again replaces its row (delete+insert on program and pair). Its touches are
-- looked up by the pair's index (looked_up), unless the program changed: joined as a set, a day's
-- 215 thousand pairs were hashed against all participants (46 s of an ordinary night at L).
-- Before, this was part of a table of all events rebuilt every night (8.5 s of an
-- empty night at M, bench/RESULTS.md).

-- The index on event_at is on that column alone: the planner costs an index by the order of its
-- first column, and a leading `program` (one value) made a month's events look scattered, so it
-- read all 32.8 M rows at L (6.6 s) where the index reads that month's 1.5 M (0.6 s).

{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['program', 'interaction_id', 'employee_id'],
    on_schema_change='sync_all_columns',
    post_hook=[
        "{{ index_on('pair', 'program, interaction_id, employee_id') }}",
        "{{ index_on('built', 'program, _built_at') }}",
        "{{ index_on('event_at', 'event_at') }}",
        "{{ drop_index_on('event') }}",
    ],
) }}

{#- standalone queries, read before the statement (watermark_ctes' `known`): "the program was loaded
    since" is then a constant, and when false every participant is not scanned to find none
    (1.8 s → 0.1 s on the M bench database with nothing new; 6 s of such a night at L) -#}
{% set marks = {
    'participants_ingested_at': 'select max(ingested_at) from ' ~ ref('stg_raw__interaction_participants'),
    'employees_ingested_at': 'select max(ingested_at) from ' ~ ref('stg_raw__employees'),
    'program_loaded_at': 'select max(loaded_at) from ' ~ ref('stg_program__versions')
        ~ " where program = '" ~ var('program') ~ "'",
    'night_end': 'select ' ~ night_end(),
} %}
{% set incremental = is_incremental_over(marks) %}
{#- the changed pairs' touches are looked up by index, pair by pair (looked_up), unless the program
    changed and every pair is computed again -#}
{% set look_up = looks_up_changes(incremental) %}

with

participants as not materialized (

    select * from {{ ref('stg_raw__interaction_participants') }}

),

employees as not materialized (

    select * from {{ ref('stg_raw__employees') }}

),

versions as (

    select * from {{ ref('stg_program__versions') }}
    where program = '{{ var("program") }}'

),

eligibility as (

    select * from {{ ref('stg_program__eligibility') }}
    where program = '{{ var("program") }}'

),

employee_versions as (

    select * from {{ ref('stg_raw__employee_history') }}

),

{{ watermark_ctes(marks, incremental, from_latest_row=true, known=true) }}

{% if incremental %}

changed_pairs as (

    -- every pair when the program was loaded since (or never built here)
    select p.interaction_id, p.employee_id
    from participants as p, previous, this_build
    where previous.program_loaded_at is distinct from this_build.program_loaded_at

    union

    -- (previous is constants, so that the bounds are known when the plan is made)
    select p.interaction_id, p.employee_id
    from participants as p, previous
    where p.ingested_at > coalesce(previous.participants_ingested_at, '-infinity')

    union

    select p.interaction_id, p.employee_id
    from participants as p
    where p.employee_id in (
        select e.employee_id from employees as e, previous
        where e.ingested_at > coalesce(previous.employees_ingested_at, '-infinity')
    )

    union

    -- touched between the last build's night and this one's (a touch past a night is not an event yet;
    -- both nights are constants, so the bounds are known when the plan is made)
    select p.interaction_id, p.employee_id
    from participants as p, previous
    where p.touched_at >= least(previous.night_end, {{ night_end() }})
        and p.touched_at < greatest(previous.night_end, {{ night_end() }})

),

{% endif %}

first_touches as (

    {% if look_up -%}
    select c.interaction_id, c.employee_id, t.touched_at
    from changed_pairs as c
    cross join {{ looked_up(
        'participants', 'p', 'p.interaction_id = c.interaction_id and p.employee_id = c.employee_id',
        'min(p.touched_at) filter (where p.touched_at < ' ~ night_end() ~ ') as touched_at') }} as t
    {%- else -%}
    select
        p.interaction_id,
        p.employee_id,
        min(p.touched_at) filter (where p.touched_at < {{ night_end() }}) as touched_at
    from participants as p
    {% if incremental %}
        where (p.interaction_id, p.employee_id) in (select interaction_id, employee_id from changed_pairs)
    {% endif %}
    group by p.interaction_id, p.employee_id
    {%- endif %}

),

served as (

    select
        t.interaction_id,
        t.employee_id,
        v.version_id,
        t.touched_at as event_at
    from first_touches as t
    inner join versions as v
        on t.touched_at::date >= v.effective_from
        and t.touched_at::date < v.effective_to
    inner join employee_versions as e
        on t.employee_id = e.employee_id
        and t.touched_at >= e.valid_from
        and t.touched_at < e.valid_to
    where {{ covered_by_program('eligibility', 'e', 'v.version_id', 't.touched_at') }}

)

select
    '{{ var("program") }}'::text as program,
    t.interaction_id,
    t.employee_id,
    s.version_id,
    s.event_at,
    {% if incremental %}
        -- the earliest time this pair was an event before (the models counting events from a
        -- time on start from there: a first touch can move, or stop being an event)
        least(old.event_at, old._replaced_event_at) as _replaced_event_at,
    {% else %}
        null::timestamptz as _replaced_event_at,
    {% endif %}
    {{ watermark_columns(marks) }},
    now() as _built_at
from first_touches as t
left join served as s on t.interaction_id = s.interaction_id and t.employee_id = s.employee_id
{% if incremental %}
    {% if look_up -%}
    -- (joined, the old rows were hashed whole: 32.8 M at L, 15.7 s of the Nov 11 night)
    left join {{ looked_up(this, 'old', program_is('old') ~ " and old.interaction_id = t.interaction_id"
        ~ " and old.employee_id = t.employee_id", 'old.event_at, old._replaced_event_at') }} as old on true
    {%- else -%}
    left join {{ this }} as old
        on old.program = '{{ var("program") }}'
        and t.interaction_id = old.interaction_id
        and t.employee_id = old.employee_id
    {%- endif %}
{% endif %}
cross join this_build
{% if not incremental %}
    -- (a build of everything has no old rows to replace, so no markers)
    where s.event_at is not null
{% endif %}
