-- Points after the program's caps: per employee per UTC day (`caps.per_day`),
-- then per period (`caps.per_month`), each the cap of the entry's version.
-- Entries fill a cap in order: those already posted to the ledger first (so a
-- late arrival never changes what was posted), then by time and id. An entry
-- past a cap keeps what still fits; the rest is recorded as capped_points,
-- never silently dropped. Negative points (when a program allows them) pass
-- through and do not count toward a cap. Feedback held by a gaming flag that
-- nobody cleared earns nothing (int_gaming_flags), and so does retracted feedback.

with

flags as (

    select * from {{ ref('int_gaming_flags') }}

),

decided as (

    select * from {{ ref('stg_plaudit__gaming_flags') }}

),

retracted as (

    select * from {{ ref('stg_plaudit__feedback_retractions') }}

),

points as (

    select p.* from {{ ref('int_points_computed') }} as p
    where not exists (
        select 1 from flags as f
        where p.source_kind = f.source_kind and p.source_id = f.source_id and p.employee_id = f.employee_id
            and not exists (select 1 from decided as d where d.flag_id = f.flag_id and d.status = 'cleared')
    )
    and not (p.source_kind = 'feedback' and exists (select 1 from retracted as r where r.response_id = p.source_id))

),

versions as (

    select * from {{ ref('stg_program__versions') }}
    where program = '{{ var("program") }}'

),

posted as (

    select * from {{ ref('stg_plaudit__ledger_entries') }}

),

identified as (

    select
        {{ ledger_entry_id('p.source_kind', 'p.source_id', 'p.employee_id', 'p.entry_kind') }} as entry_id,
        p.*,
        (p.effective_at at time zone 'UTC')::date as entry_day,
        {{ period_of('p.effective_at') }} as period,
        v.cap_per_day,
        v.cap_per_month,
        greatest(p.points, 0) as cappable_points
    from points as p
    inner join versions as v on p.version_id = v.version_id

),

ordered as (

    select
        i.*,
        row_number() over (
            partition by i.employee_id
            order by posted.posted_at nulls last, i.effective_at, i.entry_kind, i.source_id
        ) as fill_order
    from identified as i
    left join posted on i.entry_id = posted.entry_id

),

day_capped as (

    select
        ordered.*,
        case
            when cap_per_day is null or points <= 0 then points
            else greatest(0, least(
                points,
                cap_per_day - (sum(cappable_points) over (
                    partition by employee_id, entry_day order by fill_order
                    rows between unbounded preceding and current row
                ) - cappable_points)
            ))
        end as day_points
    from ordered

),

month_capped as (

    select
        day_capped.*,
        case
            when cap_per_month is null or day_points <= 0 then day_points
            else greatest(0, least(
                day_points,
                cap_per_month - (sum(greatest(day_points, 0)) over (
                    partition by employee_id, period order by fill_order
                    rows between unbounded preceding and current row
                ) - greatest(day_points, 0))
            ))
        end as allowed_points
    from day_capped

)

select
    entry_id,
    entry_kind,
    source_kind,
    source_id,
    employee_id,
    version_id,
    rule_id,
    attribution_weight,
    rule_points,
    multiplier,
    allowed_points::numeric(12, 2) as points,
    (points - allowed_points)::numeric(12, 2) as capped_points,
    channel,
    feedback_kind,
    score,
    effective_at
from month_capped
