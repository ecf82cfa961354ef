-- A row without an employee is a marker (nobody to credit, or beyond the night); a
-- row with one has a share. Checked for the rows the latest build of the night's
-- program wrote (macros/tests.sql).
select program, response_id, employee_id, attribution_model, attribution_weight
from {{ ref('int_feedback_attributed') }}
where {{ latest_build(ref('int_feedback_attributed')) }}
    and (
        (employee_id is null) <> (attribution_model in ('none', 'past_night'))
        or (employee_id is not null and attribution_weight is null)
    )
