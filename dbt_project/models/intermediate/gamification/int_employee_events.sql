-- The events that streaks, milestones and challenges count, one row each:
--
--   positive_feedback:  a piece of feedback that earned the employee points
--                       (capped points count: the customer was still pleased)
--   five_star_ratings:  of those, a CSAT or stars rating of 5
--   customers_served:   an interaction the employee touched, at their first
--                       touch, while covered by the program
--                       (int_employee_served_events)
--
-- Each event carries the program version in force when it happened. A view: the
-- feedback events are a filter of the capped points, and the customers served are
-- kept incrementally, so nothing here is rebuilt every night.

{{ config(materialized='view') }}

with

points as (

    select * from {{ ref('int_points_capped') }}

),

served as (

    select * from {{ ref('int_employee_served_events') }}
    where program = '{{ var("program") }}' and event_at is not null

),

-- (not materialized, though read twice: a reader's bound on event_at then filters the capped points as
-- they are read. Materialized, every feedback entry of all history was copied first: the positive
-- feedback of one new month took 2.9 s at L that way, 0.78 s this way)
feedback_events as not materialized (

    select
        employee_id,
        version_id,
        source_id as event_id,
        effective_at as event_at,
        feedback_kind,
        score
    from points
    where entry_kind = 'feedback_points' and points + capped_points > 0

)

select employee_id, version_id, 'positive_feedback'::text as metric, event_id, event_at
from feedback_events

union all

select employee_id, version_id, 'five_star_ratings'::text as metric, event_id, event_at
from feedback_events
where feedback_kind in ('csat', 'stars') and score = 5

union all

select employee_id, version_id, 'customers_served'::text as metric, interaction_id, event_at
from served
