-- After comment-named credit, every response's shares still sum to exactly 1
-- (bonus rows for being named are not shares).
--
-- Checked for the responses the latest build of the night's program wrote: a
-- response computed again replaces all its rows, and rows written before were
-- checked by the build that wrote them (over all history, this test took 3.4 s
-- of every night at M).
select response_id, sum(attribution_weight) as total_weight
from {{ ref('int_feedback_credits') }}
where program = '{{ var("program") }}' and employee_id is not null and credit_kind = 'attributed'
    and _built_at = (
        select max(_built_at) from {{ ref('int_feedback_credits') }} where program = '{{ var("program") }}'
    )
group by response_id
having sum(attribution_weight) <> 1
