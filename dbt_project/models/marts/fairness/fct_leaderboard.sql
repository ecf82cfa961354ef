-- The fair leaderboard per period: employees with enough feedback, ranked by
-- their shrunk score against the baseline of the queues or channels they
-- served (formula in int_employee_fairness). Provisional until the period ends.

select
    employee_id,
    period,
    version_id,
    responses,
    effective_responses,
    observed_score,
    baseline_score,
    shrunk_score,
    score_vs_baseline,
    leaderboard_rank,
    is_final
from {{ ref('int_employee_fairness') }}
where leaderboard_rank is not null
