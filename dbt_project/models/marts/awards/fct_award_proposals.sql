-- Monthly awards for every period that has ended by the night: the employee's
-- points in the period times the value per point of the version in force on
-- the period's last day.
--
-- Money: amount_minor = round(points * value_per_point * 100), integer minor
-- units, rounded half away from zero (PostgreSQL numeric round).
-- Routing: up to the auto-approve threshold the award is approved without a
-- person, unless it holds nomination points (a nomination always needs a
-- manager); above it and up to manager_approves_up_to, the employee's manager
-- (or someone above them) decides; above that, one of the program's finance
-- approvers.
-- Budget: within a period, awards are funded smallest first (so the budget
-- reaches as many people as possible; ties by employee id); an award that
-- would take the period past its budget is deferred with "budget exhausted".

with

entries as (

    select * from {{ ref('fct_ledger_entries') }}

),

versions as (

    select * from {{ ref('stg_program__versions') }}
    where program = '{{ var("program") }}'

),

period_points as (

    select
        employee_id,
        period,
        sum(points) as points,
        bool_or(entry_kind = 'nomination_points') as has_nomination,
        (to_date(period || '-01', 'YYYY-MM-DD') + interval '1 month' - interval '1 day')::date as period_end
    from entries
    group by employee_id, period

),

closed_periods as (

    select * from period_points
    where period_end <= cast('{{ var("night") }}' as date)

),

priced as (

    select
        p.employee_id,
        p.period,
        p.points,
        v.version_id,
        v.currency,
        p.has_nomination,
        v.auto_approve_up_to_minor,
        v.manager_approves_up_to_minor,
        v.monthly_budget_minor,
        round(p.points * v.value_per_point * 100)::bigint as amount_minor
    from closed_periods as p
    inner join versions as v
        on p.period_end >= v.effective_from
        and p.period_end < v.effective_to

),

budgeted as (

    select
        priced.*,
        sum(amount_minor) over (
            partition by period order by amount_minor, employee_id
            rows between unbounded preceding and current row
        ) as cumulative_minor
    from priced
    where amount_minor > 0

),

routed as (

    select
        budgeted.*,
        case
            when amount_minor <= auto_approve_up_to_minor and not coalesce(has_nomination, false) then 'auto'
            when manager_approves_up_to_minor is null or amount_minor <= manager_approves_up_to_minor then 'manager'
            else 'finance'
        end as approval_level
    from budgeted

)

select
    md5(concat_ws('|', '{{ var("program") }}', period, employee_id, 'periodic')) as award_id,
    '{{ var("program") }}'::text as program,
    version_id,
    employee_id,
    'periodic'::text as award_kind,
    period::char(7) as period,
    points::numeric(12, 2) as points,
    amount_minor,
    currency::char(3) as currency,
    approval_level,
    case
        when cumulative_minor > monthly_budget_minor then 'deferred'
        when approval_level = 'auto' then 'approved'
        else 'pending'
    end as proposed_status,
    case
        when cumulative_minor > monthly_budget_minor then 'budget exhausted'
        when approval_level = 'auto' then 'auto-approved: amount within the auto-approve threshold'
        when approval_level = 'finance' then 'needs finance approval: amount above the manager limit'
        when amount_minor <= auto_approve_up_to_minor then 'needs manager approval: it includes a customer nomination'
        else 'needs manager approval: amount above the auto-approve threshold'
    end as status_reason
from routed
