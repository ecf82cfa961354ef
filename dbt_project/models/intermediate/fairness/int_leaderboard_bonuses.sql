-- Leaderboard points (`fairness.bonus`): the top N of each period's final
-- leaderboard (ranked by the shrunk score against the baseline) earn the bonus,
-- dated on the period's last instant so it counts in that period's award.

with

fairness as (

    select * from {{ ref('int_employee_fairness') }}
    where is_final

),

versions as (

    select * from {{ ref('stg_program__versions') }}
    where program = '{{ var("program") }}'

)

select
    {{ bonus_entry('leaderboard_bonus', "'leaderboard:' || f.period", 'f.employee_id', 'f.version_id',
        "'leaderboard_top_' || v.fairness_bonus_top", 'v.fairness_bonus_points', 'f.period_closes_at') }}
from fairness as f
inner join versions as v on f.version_id = v.version_id
where v.fairness_bonus_top is not null and f.leaderboard_rank <= v.fairness_bonus_top
