-- Every response's attribution weights sum to exactly 1 (marker rows without
-- an employee carry no weight).
--
-- Checked for the responses the latest build of the night's program wrote, as in
-- int_feedback_credited__weights_sum_to_one: rows written before were checked by
-- the build that wrote them.
select program, response_id, sum(attribution_weight) as total_weight
from {{ ref('int_feedback_attributed') }}
where program = '{{ var("program") }}' and employee_id is not null
    and _built_at = (
        select max(_built_at) from {{ ref('int_feedback_attributed') }} where program = '{{ var("program") }}'
    )
group by program, response_id
having sum(attribution_weight) <> 1
