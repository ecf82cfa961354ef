-- Fairness: each employee's customer scores per period, against the baseline
-- of the queues (or channels) they served, shrunk toward that baseline when
-- they have little feedback (empirical Bayes with a fixed prior weight k):
--
--   x          = the score on [0, 1] (csat/stars (s-1)/4, nps s/10, ces (s-1)/6, thumbs s)
--   baseline_g = the attribution-weighted mean x of all feedback of group g
--                (queue or channel, as the program says) in the period
--   n          = the employee's attribution weights summed (effective responses)
--   observed   = the employee's weighted mean x
--   expected   = the weighted mean of baseline_g over the employee's feedback
--   shrunk     = expected + n / (n + k) × (observed − expected)
--
-- score_vs_baseline = shrunk − expected ranks employees (highest first; ties by
-- employee id); only those with at least `min_feedback` responses in the period
-- are ranked. Settings are those of the version in force at the period's end.
-- Only employees covered by the program when they got the feedback appear.

with

credited as (

    select * from {{ ref('int_feedback_credited') }}
    where credit_kind = 'attributed'

),

interactions as (

    select * from {{ ref('stg_raw__interactions') }}

),

versions as (

    select * from {{ ref('stg_program__versions') }}
    where program = '{{ var("program") }}'

),

eligibility as (

    select * from {{ ref('stg_program__eligibility') }}
    where program = '{{ var("program") }}'

),

employee_versions as (

    select * from {{ ref('stg_raw__employee_history') }}

),

scored as (

    select
        c.employee_id,
        c.response_id,
        c.attribution_weight as w,
        {{ normalised_score('c.feedback_kind', 'c.score') }} as x,
        {{ period_of('c.responded_at') }} as period,
        c.channel,
        i.queue
    from credited as c
    left join interactions as i on c.interaction_id = i.interaction_id
    inner join employee_versions as e
        on c.employee_id = e.employee_id
        and c.responded_at >= e.valid_from
        and c.responded_at < e.valid_to
    where c.feedback_kind in ('csat', 'stars', 'nps', 'ces', 'thumbs')
        and {{ covered_by_program('eligibility', 'e', 'c.version_id', 'c.responded_at') }}

),

settings as (

    select
        periods.period,
        (to_date(periods.period || '-01', 'YYYY-MM-DD') + interval '1 month' - interval '1 day')::date as period_end,
        v.version_id,
        v.fairness_baseline,
        v.fairness_prior_weight,
        v.fairness_min_feedback
    from (select distinct period from scored) as periods
    inner join versions as v
        on (to_date(periods.period || '-01', 'YYYY-MM-DD') + interval '1 month' - interval '1 day')::date
            >= v.effective_from
        and (to_date(periods.period || '-01', 'YYYY-MM-DD') + interval '1 month' - interval '1 day')::date
            < v.effective_to

),

grouped as (

    select
        scored.*,
        s.version_id,
        s.period_end,
        s.fairness_prior_weight as k,
        s.fairness_min_feedback as min_feedback,
        coalesce(case s.fairness_baseline when 'channel' then scored.channel else scored.queue end, '(none)')
            as baseline_group
    from scored
    inner join settings as s on scored.period = s.period

),

baselines as (

    select
        grouped.*,
        sum(w * x) over (partition by period, baseline_group)
            / sum(w) over (partition by period, baseline_group) as group_baseline
    from grouped

),

per_employee as (

    select
        employee_id,
        period,
        version_id,
        period_end,
        k,
        min_feedback,
        count(distinct response_id) as responses,
        sum(w) as effective_responses,
        sum(w * x) / sum(w) as observed_score,
        sum(w * group_baseline) / sum(w) as baseline_score
    from baselines
    group by employee_id, period, version_id, period_end, k, min_feedback

),

shrunk as (

    select
        per_employee.*,
        baseline_score + effective_responses / (effective_responses + k) * (observed_score - baseline_score)
            as shrunk_score
    from per_employee

)

select
    employee_id,
    period::char(7) as period,
    version_id,
    responses::bigint as responses,
    round(effective_responses, 6)::numeric(14, 6) as effective_responses,
    round(observed_score, 4)::numeric(6, 4) as observed_score,
    round(baseline_score, 4)::numeric(6, 4) as baseline_score,
    round(shrunk_score, 4)::numeric(6, 4) as shrunk_score,
    round(shrunk_score - baseline_score, 4)::numeric(6, 4) as score_vs_baseline,
    case when responses >= min_feedback then
        rank() over (
            partition by period, responses >= min_feedback
            order by shrunk_score - baseline_score desc, employee_id
        )
    end::integer as leaderboard_rank,
    period_end <= cast('{{ var("night") }}' as date) as is_final,
    (period_end + 1)::timestamp at time zone 'UTC' - interval '1 microsecond' as period_closes_at
from shrunk
