-- Milestones and challenges of the customers served, by the period of the event that earns them,
-- with each period's tallies: the rules and how a build goes on from the stored tallies are in
-- macros/event_bonuses.sql. It reads int_employee_served_events alone, not the capped points, so
-- it is built while the feedback is still being attributed and capped: the customers served were
-- 3.47 of the 4.47 million events at M, counted in one table with the feedback's after the caps.

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

{% set inputs -%}
served as not materialized (

    select * from {{ ref('int_employee_served_events') }} where program = '{{ var("program") }}'

),
{%- endset %}

{#- as int_employee_events gives them (a marker, no event_at, is no event) -#}
{% set events -%}
select employee_id, version_id, 'customers_served'::text as metric, interaction_id as event_id, event_at
    from served
    where event_at is not null
{%- endset %}

{#- a pair written since: the day of its event, and of the event it replaced (a first touch moved) -#}
{% set changed_days -%}
select {{ day_of('least(s.event_at, s._replaced_event_at)') }} as day
            from served as s, previous
            where s._built_at > coalesce(previous.served_built_at, '-infinity')
{%- endset %}

{{ event_bonuses_by_period(
    events,
    inputs,
    marks={'served_built_at': 'select max(_built_at) from served'},
    changed_days=changed_days,
) }}
