-- Streaks: `days` working days (Monday to Friday, UTC) in a row, each with
-- positive feedback, earn the streak's points; a run of twice that length earns
-- them twice. Weekend days neither count nor break a run. The bonus lands on
-- the day that completes the streak, under the version in force that day.
--
-- Working days are numbered without weekends (week × 5 + weekday), so a run is
-- an island of consecutive numbers (gaps and islands).

with

events as (

    select * from {{ ref('int_employee_events') }}
    where metric = 'positive_feedback'

),

streaks as (

    select * from {{ ref('stg_program__streaks') }}
    where program = '{{ var("program") }}'

),

days as (

    select
        employee_id,
        (event_at at time zone 'UTC')::date as event_day,
        max(event_at) as last_event_at,
        -- the version in force at the day's last event
        (array_agg(version_id order by event_at desc, event_id desc))[1] as version_id
    from events
    where extract(isodow from (event_at at time zone 'UTC')::date) <= 5
    group by employee_id, (event_at at time zone 'UTC')::date

),

numbered as (

    select
        days.*,
        -- 2001-01-01 was a Monday
        ((event_day - date '2001-01-01') / 7) * 5
            + (extract(isodow from event_day)::integer - 1) as working_day_no
    from days

),

islands as (

    select
        numbered.*,
        working_day_no - row_number() over (partition by employee_id order by event_day) as island
    from numbered

),

positioned as (

    select
        islands.*,
        row_number() over (partition by employee_id, island order by event_day) as day_in_run
    from islands

)

select
    {{ bonus_entry('streak_bonus', "s.streak_id || ':' || to_char(v.event_day, 'YYYY-MM-DD')", 'v.employee_id',
        'v.version_id', 's.streak_id', 's.points', 'v.last_event_at') }}
from positioned as v
inner join streaks as s
    on v.version_id = s.version_id
    and v.day_in_run % s.streak_days = 0
