-- The floor: what the demo program's core rules cost when written by hand as
-- one statement over the raw exports (loaded with a plain COPY into the
-- bench_floor schema, no checks): last-touch attribution (the latest
-- participant who touched the interaction at or before the response), the
-- points table, covered roles only, and the monthly cap per employee.
-- bench/run.py times its load and this statement in the same run and the
-- same database as the pipeline. Parameters: %(night_end)s, %(cap_per_month)s.
with

rules (feedback_kind, score_min, score_max, points) as (

    values ('csat', 5, 5, 10), ('csat', 4, 4, 5), ('nps', 9, 10, 10), ('nps', 7, 8, 2),
           ('ces', 6, 7, 6), ('stars', 5, 5, 8), ('stars', 4, 4, 4), ('thumbs', 1, 1, 3)

),

last_touch as (

    select distinct on (f.response_id)
        f.response_id, p.employee_id, f.feedback_kind, f.score, f.responded_at
    from bench_floor.feedback as f
    inner join bench_floor.participants as p
        on p.interaction_id = f.interaction_id and p.touched_at <= f.responded_at
    where f.responded_at < %(night_end)s
    order by f.response_id, p.touched_at desc, p.employee_id

),

scored as (

    select
        l.employee_id,
        to_char(l.responded_at at time zone 'UTC', 'YYYY-MM') as period,
        r.points
    from last_touch as l
    inner join rules as r
        on r.feedback_kind = l.feedback_kind and l.score between r.score_min and r.score_max
    inner join bench_floor.employees as e
        on e.employee_id = l.employee_id
        and e.role in ('customer_service', 'tech_support', 'retail_floor', 'account_management')

)

select employee_id, period, least(sum(points), %(cap_per_month)s) as points
from scored
group by employee_id, period
