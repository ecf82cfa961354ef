-- Detractor feedback, attributed like any other, for the manager's private coaching digest: no
-- negative points, a conversation instead. Detractor: CSAT or stars 1–2, NPS 0–6, CES 1–3,
-- thumbs down. The manager is the one in the employee's record valid when the feedback was given.
--
-- Every detractor attribution to an employee has a row, with or without a record of the employee
-- valid at the time (`has_employee_version`; fct_coaching_items is the rows with one), so that an
-- employee loaded later finds their items here, through this table's index on the employee.
--
-- Incremental by response (program, response_id): a build writes again the responses attribution
-- wrote since its last build of the program, and the items of the employees loaded or changed since
-- (their manager at the time). A response written again replaces its rows (delete+insert); one that
-- had rows and has no item now gets a marker row (no employee), so that its old rows go. The
-- changed responses' attributions are looked up by index (looked_up), unless the program changed.
-- Before, fct_coaching_items was rebuilt from every attribution each night with new feedback (9.2 s
-- of such a night at L, bench/RESULTS.md).

{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['program', 'response_id'],
    on_schema_change='sync_all_columns',
    post_hook=[
        "{{ index_on('response', 'program, response_id') }}",
        "{{ index_on('employee', 'program, employee_id') }}",
        "{{ index_on('built', 'program, _built_at') }}",
        "{{ index_on('responded', 'program, responded_at') }}",
    ],
) }}

{% set marks = {
    'attributed_built_at': 'select max(_built_at) from attributed',
    'employees_ingested_at': 'select max(ingested_at) from employees',
} %}
{% set incremental = is_incremental_over(marks) %}
{% set look_up = looks_up_changes(incremental) %}

with

attributed as not materialized (

    select * from {{ ref('int_feedback_attributed') }}
    where {{ program_is() }}

),

employees as not materialized (

    select * from {{ ref('stg_raw__employees') }}

),

employee_versions as (

    select * from {{ ref('stg_raw__employee_history') }}

),

{{ watermark_ctes(marks, incremental, from_latest_row=true) }}

{% if incremental %}

changed as (

    -- (previous is constants, so that the index reads only what is past the bound)
    select a.response_id
    from attributed as a, previous
    where a._built_at > coalesce(previous.attributed_built_at, '-infinity')

    union

    -- the items of the employees loaded or changed since, through this table's index on the employee
    select t.response_id
    from {{ this }} as t
    where {{ program_is('t') }} and t.employee_id in (
        select e.employee_id
        from employees as e, previous
        where e.ingested_at > coalesce(previous.employees_ingested_at, '-infinity')
    )

),

{% endif %}

detractors as (

    select a.*
    {% if look_up -%}
    from changed as ch
    cross join {{ looked_up('attributed', 'a', 'a.response_id = ch.response_id') }} as a
    {%- else -%}
    from attributed as a
    {% if incremental %}
        -- (a join, not `in`: the planner then sees how many there are, a day's or every one)
        inner join changed as ch on a.response_id = ch.response_id
    {% endif %}
    {%- endif %}
    where
        -- rows without an employee only mark "nobody to credit"
        a.employee_id is not null
        and (
            (a.feedback_kind in ('csat', 'stars') and a.score <= 2)
            or (a.feedback_kind = 'nps' and a.score <= 6)
            or (a.feedback_kind = 'ces' and a.score <= 3)
            or (a.feedback_kind = 'thumbs' and a.score = 0)
        )

)

select
    '{{ var("program") }}'::text as program,
    md5(concat_ws('|', a.response_id, a.employee_id)) as coaching_item_id,
    a.response_id,
    a.employee_id,
    e.manager_id,
    e.employee_id is not null as has_employee_version,
    a.feedback_kind,
    a.score,
    a.channel,
    a.comment,
    a.attribution_weight::numeric(9, 6) as attribution_weight,
    a.responded_at::timestamptz as responded_at,
    {{ watermark_columns(marks) }},
    now() as _built_at
from detractors as a
left join employee_versions as e
    on a.employee_id = e.employee_id
    and a.responded_at >= e.valid_from
    and a.responded_at < e.valid_to
cross join this_build
{% if incremental %}

union all

-- a marker for each stored response written again with no item now, so that its old rows go
select
    '{{ var("program") }}'::text, null::text, ch.response_id, null::text, null::text, null::boolean,
    null::text, null::integer, null::text, null::text, null::numeric(9, 6), null::timestamptz,
    {{ watermark_columns(marks) }}, now()
from changed as ch
cross join this_build
where
    exists (
        select 1 from {{ this }} as t
        where {{ program_is('t') }} and t.response_id = ch.response_id
    )
    and not exists (select 1 from detractors as d where d.response_id = ch.response_id)
{% endif %}
