-- The funding legs of every award that is not deferred sum exactly to its amount.
select a.award_id, a.amount_minor, sum(f.amount_minor) as legs
from {{ ref('fct_award_proposals') }} as a
left join {{ ref('fct_award_funding') }} as f on a.award_id = f.award_id
where a.proposed_status <> 'deferred'
group by a.award_id, a.amount_minor
having coalesce(sum(f.amount_minor), -1) <> a.amount_minor
