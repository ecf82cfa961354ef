-- Every response's attribution weights sum to exactly 1 (marker rows without
-- an employee carry no weight).
select program, response_id, sum(attribution_weight) as total_weight
from {{ ref('int_feedback_attributed') }}
where employee_id is not null
group by program, response_id
having sum(attribution_weight) <> 1
