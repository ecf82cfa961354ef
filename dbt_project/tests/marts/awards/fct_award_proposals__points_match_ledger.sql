-- An award's points equal the sum of the employee's ledger entries in its period.
select a.award_id
from {{ ref('fct_award_proposals') }} as a
left join {{ ref('fct_ledger_entries') }} as l
    on a.employee_id = l.employee_id and a.period = l.period
group by a.award_id, a.points
having a.points <> coalesce(sum(l.points), 0)
