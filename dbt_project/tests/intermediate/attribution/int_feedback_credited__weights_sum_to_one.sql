-- After comment-named credit, every response's shares still sum to exactly 1
-- (bonus rows for being named are not shares).
select response_id, sum(attribution_weight) as total_weight
from {{ ref('int_feedback_credited') }}
where credit_kind = 'attributed'
group by response_id
having sum(attribution_weight) <> 1
