-- Every response's attribution weights sum to exactly 1.
select response_id, sum(attribution_weight) as total_weight
from {{ ref('int_feedback_attributed') }}
group by response_id
having sum(attribution_weight) <> 1
