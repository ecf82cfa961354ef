-- Milestones: the `at`-th event of a metric in an employee's whole history
-- (the 100th five-star rating, the 1,000th customer served) earns the
-- milestone's points once, under the version in force at that event.
-- Events are counted in time order (ties by event id).

with

events as (

    select * from {{ ref('int_employee_events') }}

),

milestones as (

    select * from {{ ref('stg_program__milestones') }}
    where program = '{{ var("program") }}'

),

counted as (

    select
        events.*,
        row_number() over (partition by employee_id, metric order by event_at, event_id) as event_no
    from events
    where metric in (select metric from milestones)

)

select
    {{ bonus_entry('milestone', 'm.milestone_id', 'c.employee_id', 'c.version_id', 'm.milestone_id',
        'm.points', 'c.event_at') }}
from counted as c
inner join milestones as m
    on c.version_id = m.version_id
    and c.metric = m.metric
    and c.event_no = m.reached_at_count
