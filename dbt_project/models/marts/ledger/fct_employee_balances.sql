-- Points balance and tier per employee, derived from the ledger entries (never
-- stored apart). The tier is the highest one of the version in force on the
-- night whose threshold the rolling 12-month points reach (tier bonuses
-- themselves do not count toward tiers); points_to_next_tier is the distance to
-- the next one (null at the top, or when the program has no tiers).
--
-- The entries are the ledger mart's: the posted ones summed by int_employee_ledger_totals
-- (incremental), and those not posted yet (the mart's view reads them from the few of
-- int_unposted_ledger_entries, not the ledger).

with

unposted as (

    select * from {{ ref('fct_ledger_entries') }}
    where not posted

),

entries as (

    select employee_id, balance_points, entry_count, last_entry_at, rolling_12m_points
    from {{ ref('int_employee_ledger_totals') }}
    where program = '{{ var("program") }}'
    union all
    select
        employee_id,
        sum(points),
        count(*),
        max(effective_at),
        coalesce(sum(points) filter (
            where entry_kind <> 'tier_bonus' and effective_at >= {{ night_end() }} - interval '1 year'
        ), 0)
    from unposted
    group by employee_id

),

employees as (

    select * from {{ ref('stg_raw__employees') }}

),

versions as (

    select * from {{ ref('stg_program__versions') }}
    where program = '{{ var("program") }}'

),

tiers as (

    select t.*
    from {{ ref('stg_program__tiers') }} as t
    inner join versions as v on t.version_id = v.version_id
    where cast('{{ var("night") }}' as date) >= v.effective_from
        and cast('{{ var("night") }}' as date) < v.effective_to

),

totals as (

    select
        e.employee_id,
        coalesce(sum(entries.balance_points), 0) as balance_points,
        coalesce(sum(entries.entry_count), 0) as entry_count,
        max(entries.last_entry_at) as last_entry_at,
        coalesce(sum(entries.rolling_12m_points), 0) as rolling_12m_points
    from employees as e
    left join entries on e.employee_id = entries.employee_id
    group by e.employee_id

),

held as (

    select
        totals.*,
        held_tier.tier_name,
        next_tier.tier_name as next_tier_name,
        next_tier.min_points - totals.rolling_12m_points as points_to_next_tier
    from totals
    left join lateral (
        select tier_name from tiers
        where tiers.min_points <= totals.rolling_12m_points
        order by tiers.min_points desc limit 1
    ) as held_tier on true
    left join lateral (
        select tier_name, min_points from tiers
        where tiers.min_points > totals.rolling_12m_points
        order by tiers.min_points limit 1
    ) as next_tier on true

)

select
    employee_id,
    '{{ var("program") }}'::text as program,
    balance_points::numeric(14, 2) as balance_points,
    entry_count::bigint as entry_count,
    last_entry_at,
    rolling_12m_points::numeric(14, 2) as rolling_12m_points,
    tier_name,
    next_tier_name,
    points_to_next_tier::numeric(14, 2) as points_to_next_tier
from held
