-- The night's program's fairness (int_employee_fairness_periods keeps every
-- program's, and markers for periods left with nobody), with whether each
-- period is final: it ended on or before the night.

{{ config(materialized='view') }}

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
    period_closes_at < {{ night_end() }} as is_final,
    period_closes_at
from {{ ref('int_employee_fairness_periods') }}
where program = '{{ var("program") }}' and employee_id is not null
