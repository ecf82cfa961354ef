-- After comment-named credit, every response's shares still sum to exactly 1
-- (bonus rows for being named are not shares).
--
-- Checked for the responses the latest build of the night's program wrote
-- (macros/tests.sql): a response computed again replaces all its rows, and rows
-- written before were checked by the build that wrote them (over all history,
-- this test took 3.4 s of every night at M).
--
-- The rows are read first (materialized), then sorted and summed. Grouped straight
-- from the table, PostgreSQL walked the (program, response_id) index for its order,
-- a random read per row of a table of wide rows: at L after a full refresh, 44 s
-- against 20 s this way (and 266 s of the full night, its cache cold).
with latest as materialized (

    select response_id, attribution_weight
    from {{ ref('int_feedback_credits') }}
    where {{ latest_build(ref('int_feedback_credits')) }}
        and employee_id is not null and credit_kind = 'attributed'

)

select response_id, sum(attribution_weight) as total_weight
from latest
group by response_id
having sum(attribution_weight) <> 1
