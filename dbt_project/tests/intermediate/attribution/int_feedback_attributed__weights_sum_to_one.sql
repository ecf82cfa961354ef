-- Every response's attribution weights sum to exactly 1 (marker rows without
-- an employee carry no weight).
--
-- Checked for the responses the latest build of the night's program wrote
-- (macros/tests.sql). Grouped straight from the table, through the (program,
-- response_id) index: at L after a full refresh, 7 s, where reading the rows first
-- and sorting them took 16 s (int_feedback_credited__weights_sum_to_one is the
-- other way round).
select program, response_id, sum(attribution_weight) as total_weight
from {{ ref('int_feedback_attributed') }}
where {{ latest_build(ref('int_feedback_attributed')) }} and employee_id is not null
group by program, response_id
having sum(attribution_weight) <> 1
