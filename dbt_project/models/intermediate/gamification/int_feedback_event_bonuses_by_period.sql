-- Milestones and challenges of the feedback's metrics (positive_feedback, five_star_ratings), by
-- the period of the event that earns them, with each period's tallies: the rules and how a build
-- goes on from the stored tallies are in macros/event_bonuses.sql. Its events are the capped
-- points' (int_employee_events), so a day computes again when the caps computed it again.

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
capped as not materialized (

    select * from {{ ref('int_points_capped_by_period') }} where program = '{{ var("program") }}'

),
{%- endset %}

{#- every metric but the customers served (int_served_event_bonuses_by_period counts those): the
    view's branch of them is left out when the statement is planned, and nothing waits for them -#}
{% set events -%}
select * from {{ ref('int_employee_events') }} where metric <> 'customers_served'
{%- endset %}

{% set changed_days -%}
select c.entry_day as day
            from capped as c, previous
            where c._built_at > coalesce(previous.capped_built_at, '-infinity')
{%- endset %}

{{ event_bonuses_by_period(
    events,
    inputs,
    marks={'capped_built_at': 'select max(_built_at) from capped'},
    changed_days=changed_days,
) }}
