-- Awards to create: periodic, instant and carried.
--
--   periodic  each employee's points in a period that has ended by the night,
--             times the value per point of the version in force on the
--             period's last day; entry kinds paid instantly are left out
--   instant   one award per entry of a kind listed in `awards.instant`
--             (nominations, milestones, challenges), the night it posts;
--             not for a period whose periodic award already exists (it paid them)
--   carried   an award deferred for budget is considered again in the next
--             open period, once that period has ended, with the same points
--             and amount (and deferred again if it still does not fit); a
--             period that had already ended on the night the award was
--             deferred is skipped (its budget went to its own awards): a night
--             over months long ended carries its deferred awards into the
--             month after that night, not through each of those months in turn
--
-- Periodic and instant candidates come from int_award_candidates, which leaves out the
-- periods already settled (their periodic award exists); carried ones from the awards.
--
-- Money: amount_minor = round(points * value_per_point * 100), integer minor
-- units, rounded half away from zero (PostgreSQL numeric round).
-- Routing: up to the auto-approve threshold the award is approved without a
-- person, unless it holds nomination points (a nomination always needs a
-- manager); above it and up to manager_approves_up_to, the employee's manager
-- (or someone above them) decides; above that, one of the program's finance
-- approvers. A carried award keeps its routing.
-- Budget: awards already created (pending or approved) spend first; then the
-- new ones, carried first, then instant ones by time, then periodic ones
-- smallest first (so the budget reaches as many people as possible; ties by
-- award id). They queue: the first award that would take its team, its cost
-- centre or the program past the period's budget is deferred with "budget
-- exhausted", and so is every award behind it in that queue (nothing
-- overtakes a deferred award).
-- The database enforces the same limits when the award is inserted
-- (plaudit.keep_within_budget), so two publishers at once never overspend.

with

candidates_made as (

    -- periodic and instant awards in the periods not yet settled (int_award_candidates)
    select * from {{ ref('int_award_candidates') }}

),

versions as (

    select * from {{ ref('stg_program__versions') }}
    where program = '{{ var("program") }}'

),

existing as (

    select * from {{ ref('stg_plaudit__awards') }}

),

history as (

    select * from {{ ref('stg_raw__employee_history') }}

),

employees as (

    select * from {{ ref('stg_raw__employees') }}

),

closes as (

    select * from {{ ref('stg_plaudit__period_closes') }}

),

fresh as (

    select
        award_id,
        award_kind,
        employee_id,
        period,
        period as points_period,
        null::text as carried_from,
        source_entry_id,
        points,
        has_nomination,
        null::text as carried_level,
        instant_at
    from candidates_made

),

carried as (

    select
        md5(concat_ws('|', '{{ var("program") }}', d.award_id, 'carried')) as award_id,
        d.award_kind,
        d.employee_id,
        -- the first month open after its own, and not ended on the night it was deferred (an award
        -- made by hand has no night: the next open month)
        greatest(
            {{ next_period('greatest(d.period, (select max(period) from closes))') }},
            to_char(d.night + 1, 'YYYY-MM')
        ) as period,
        d.points_period,
        d.award_id as carried_from,
        d.source_entry_id,
        d.points,
        false as has_nomination,
        d.approval_level as carried_level,
        null::timestamptz as instant_at
    from existing as d
    where d.status = 'deferred'
        and not exists (select 1 from existing as c where c.carried_from = d.award_id)

),

candidates as (

    select
        c.*,
        (to_date(c.period || '-01', 'YYYY-MM-DD') + interval '1 month' - interval '1 day')::date as period_end
    from (
        select * from fresh
        union all
        select * from carried
    ) as c

),

ready as (

    -- periodic and carried awards once their period has ended; instant ones at once. A carried
    -- instant award waits too: taken at once, a deferred one was carried into a period that had
    -- not begun, deferred there, and carried again the next night, one period further each night
    -- (the L bench's third night created 325 thousand awards, some for December on Nov 2).
    select * from candidates
    where (award_kind = 'instant' and carried_from is null)
        or period_end <= cast('{{ var("night") }}' as date)

),

priced as (

    select
        r.*,
        v.version_id,
        v.currency,
        v.auto_approve_up_to_minor,
        v.manager_approves_up_to_minor,
        v.monthly_budget_minor,
        coalesce(h.team, e.team) as team,
        coalesce(h.cost_centre, e.cost_centre) as cost_centre,
        round(r.points * v.value_per_point * 100)::bigint as amount_minor,
        case r.award_kind when 'instant' then 1 when 'periodic' then 2 end as kind_order
    from ready as r
    inner join versions as v
        on r.period_end >= v.effective_from
        and r.period_end < v.effective_to
    left join employees as e on r.employee_id = e.employee_id
    left join history as h
        on r.employee_id = h.employee_id
        and h.valid_from <= r.period_end + interval '1 day'
        and (h.valid_to is null or h.valid_to > r.period_end + interval '1 day')

),

new_awards as (

    select
        p.*,
        round((v.budget_definition -> 'teams' ->> p.team)::numeric * 100)::bigint as team_budget_minor,
        round((v.budget_definition -> 'cost_centres' ->> p.cost_centre)::numeric * 100)::bigint
            as cost_centre_budget_minor,
        case when p.carried_from is not null then 0 else p.kind_order end as budget_order
    from priced as p
    inner join versions as v on p.version_id = v.version_id
    where p.amount_minor > 0
        and not exists (select 1 from existing as x where x.award_id = p.award_id)

),

-- what the awards already created spend in a period: per team, per cost centre and in all (joined
-- below; a correlated sum per new award scanned every group, 3 s of 5 at M with 13 thousand awards)
spent as (

    select
        period,
        team,
        cost_centre,
        case grouping(team, cost_centre) when 1 then 'team' when 2 then 'cost_centre' else 'program' end as scope,
        sum(amount_minor) as amount_minor
    from existing
    where status in ('pending', 'approved')
    group by grouping sets ((period, team), (period, cost_centre), (period))

),

team_fit as (

    select
        n.*,
        n.team_budget_minor is null
        or coalesce(s.amount_minor, 0)
            + sum(n.amount_minor) over (
                partition by n.period, n.team order by n.budget_order, n.instant_at, n.amount_minor, n.award_id
                rows between unbounded preceding and current row
            ) <= n.team_budget_minor as fits_team
    from new_awards as n
    left join spent as s on s.scope = 'team' and s.period = n.period and s.team = n.team

),

cost_centre_fit as (

    select
        t.*,
        t.fits_team and (
            t.cost_centre_budget_minor is null
            or coalesce(s.amount_minor, 0)
                + sum(t.amount_minor) filter (where t.fits_team) over (
                    partition by t.period, t.cost_centre order by t.budget_order, t.instant_at, t.amount_minor, t.award_id
                    rows between unbounded preceding and current row
                ) <= t.cost_centre_budget_minor
        ) as fits_cost_centre
    from team_fit as t
    left join spent as s on s.scope = 'cost_centre' and s.period = t.period and s.cost_centre = t.cost_centre

),

program_fit as (

    select
        c.*,
        c.fits_cost_centre and (
            coalesce(s.amount_minor, 0)
                + sum(c.amount_minor) filter (where c.fits_cost_centre) over (
                    partition by c.period order by c.budget_order, c.instant_at, c.amount_minor, c.award_id
                    rows between unbounded preceding and current row
                ) <= c.monthly_budget_minor
        ) as fits_budget,
        case
            when not c.fits_team then 'team ' || c.team
            when not c.fits_cost_centre then 'cost centre ' || c.cost_centre
            else 'the program'
        end as budget_scope
    from cost_centre_fit as c
    left join spent as s on s.scope = 'program' and s.period = c.period

),

routed as (

    select
        program_fit.*,
        case
            when carried_level is not null then carried_level
            when amount_minor <= auto_approve_up_to_minor and not coalesce(has_nomination, false) then 'auto'
            when manager_approves_up_to_minor is null or amount_minor <= manager_approves_up_to_minor then 'manager'
            else 'finance'
        end as approval_level
    from program_fit

)

select
    award_id,
    '{{ var("program") }}'::text as program,
    version_id,
    employee_id,
    award_kind::text as award_kind,
    period::char(7) as period,
    points_period::char(7) as points_period,
    carried_from,
    source_entry_id,
    team,
    cost_centre,
    points::numeric(12, 2) as points,
    amount_minor,
    currency::char(3) as currency,
    approval_level,
    budget_order,
    case
        when not fits_budget then 'deferred'
        when approval_level = 'auto' then 'approved'
        else 'pending'
    end as proposed_status,
    case
        when not fits_budget then 'budget exhausted: ' || budget_scope || ' has no room left for ' || period
        when approval_level = 'auto' then 'auto-approved: amount within the auto-approve threshold'
        when approval_level = 'finance' then 'needs finance approval: amount above the manager limit'
        when has_nomination then 'needs manager approval: it includes a customer nomination'
        else 'needs manager approval: amount above the auto-approve threshold'
    end
    || case when carried_from is not null then ' (carried from a deferred award)' else '' end as status_reason,
    instant_at
from routed
