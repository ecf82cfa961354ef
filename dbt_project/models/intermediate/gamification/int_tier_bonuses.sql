-- Tiers: an employee holds the highest tier whose `min_points` their rolling
-- 12-month points reach (every entry but tier bonuses, over the year up to and
-- including each entry). The first time they reach a tier with a `bonus`, the
-- bonus is posted once, under the version in force at that moment.

with

earned as (

    select * from {{ ref('int_points_earned') }}

),

versions as (

    select * from {{ ref('stg_program__versions') }}
    where program = '{{ var("program") }}'

),

tiers as (

    select * from {{ ref('stg_program__tiers') }}
    where program = '{{ var("program") }}'

),

rolling as (

    select
        employee_id,
        effective_at,
        sum(points) over (
            partition by employee_id order by effective_at
            range between interval '1 year' preceding and current row
        ) as rolling_points
    from earned
    where exists (select 1 from tiers)

),

-- the highest rolling points before each entry under the same version: a tier's threshold is crossed
-- where it is above that and not above the entry's (in the order the window above leaves, so sorted
-- within each employee only)
crossed as (

    select
        r.employee_id,
        r.effective_at,
        r.rolling_points,
        v.version_id,
        max(r.rolling_points) over (
            partition by r.employee_id, v.version_id order by r.effective_at
            rows between unbounded preceding and 1 preceding
        ) as highest_before
    from rolling as r
    inner join versions as v
        on (r.effective_at at time zone 'UTC')::date >= v.effective_from
        and (r.effective_at at time zone 'UTC')::date < v.effective_to

),

-- the first entry under each version whose rolling points reach the tier: one row per employee,
-- version and tier reached (joined to every tier each entry reached, 11.9 M rows at L, grouped)
reached as (

    select
        c.employee_id,
        t.tier_name,
        t.bonus_points,
        c.version_id,
        c.effective_at as reached_at
    from crossed as c
    inner join tiers as t
        on c.version_id = t.version_id
        and c.rolling_points >= t.min_points
        and (c.highest_before is null or c.highest_before < t.min_points)
    where t.bonus_points > 0

),

first_reached as (

    select distinct on (employee_id, tier_name) *
    from reached
    order by employee_id, tier_name, reached_at

)

select
    {{ bonus_entry('tier_bonus', "'tier:' || tier_name", 'employee_id', 'version_id',
        "'tier_' || lower(tier_name)", 'bonus_points', 'reached_at') }}
from first_reached
