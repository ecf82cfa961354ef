-- Monthly challenges: reaching `goal` events of a metric within one period
-- (UTC month) earns the challenge's points, once per period (or only in the
-- challenge's `period`, when it names one), under the version in force at the
-- event that reached the goal.

with

events as (

    select * from {{ ref('int_employee_events') }}

),

challenges as (

    select * from {{ ref('stg_program__challenges') }}
    where program = '{{ var("program") }}'

),

counted as (

    select
        events.*,
        {{ period_of('event_at') }} as period,
        row_number() over (
            partition by employee_id, metric, {{ period_of('event_at') }} order by event_at, event_id
        ) as event_no
    from events
    where metric in (select metric from challenges)

)

select
    {{ bonus_entry('challenge_bonus', "ch.challenge_id || ':' || c.period", 'c.employee_id', 'c.version_id',
        'ch.challenge_id', 'ch.points', 'c.event_at') }}
from counted as c
inner join challenges as ch
    on c.version_id = ch.version_id
    and c.metric = ch.metric
    and c.event_no = ch.goal
    and (ch.challenge_period is null or ch.challenge_period = c.period)
