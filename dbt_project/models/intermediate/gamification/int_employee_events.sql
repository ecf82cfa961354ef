-- The events that streaks, milestones and challenges count, one row each:
--
--   positive_feedback:  a piece of feedback that earned the employee points
--                       (capped points count: the customer was still pleased)
--   five_star_ratings:  of those, a CSAT or stars rating of 5
--   customers_served:   an interaction the employee touched, at their first
--                       touch, while covered by the program
--
-- Each event carries the program version in force when it happened.

with

points as (

    select * from {{ ref('int_points_capped') }}

),

participants as (

    select * from {{ ref('stg_raw__interaction_participants') }}
    where touched_at < {{ night_end() }}

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

feedback_events as (

    select
        employee_id,
        version_id,
        source_id as event_id,
        effective_at as event_at,
        feedback_kind,
        score
    from points
    where entry_kind = 'feedback_points' and points + capped_points > 0

),

first_touches as (

    select
        interaction_id,
        employee_id,
        min(touched_at) as touched_at
    from participants
    group by interaction_id, employee_id

),

served as (

    select
        t.employee_id,
        v.version_id,
        t.interaction_id as event_id,
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

select employee_id, version_id, 'positive_feedback' as metric, event_id, event_at
from feedback_events

union all

select employee_id, version_id, 'five_star_ratings' as metric, event_id, event_at
from feedback_events
where feedback_kind in ('csat', 'stars') and score = 5

union all

select employee_id, version_id, 'customers_served' as metric, event_id, event_at
from served
