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
--
-- Incremental by period: every term is computed within one period, so a build
-- computes again only the periods that can have changed since this model's last
-- build of the program: those of the credits written since (new, recomputed or
-- withdrawn feedback, or feedback whose interaction moved to another queue: each
-- credit carries its interaction's queue) and of the feedback of employees loaded or
-- changed since. A period
-- computed again replaces its rows (delete+insert on program and period); one left
-- with nobody gets a marker row (no employee). int_employee_fairness is this table
-- for the night's program, without markers, with `is_final` for the night.

{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['program', 'period'],
    on_schema_change='sync_all_columns',
    post_hook=[
        "{{ index_on('period', 'program, period') }}",
    ],
) }}

{% set marks = {
    'credits_built_at': 'select max(_built_at) from credits',
    'employees_ingested_at': 'select max(ingested_at) from employees',
} %}
{% set incremental = is_incremental_over(marks) %}

with

credits as not materialized (

    select * from {{ ref('int_feedback_credits') }}
    where program = '{{ var("program") }}'

),

employees as not materialized (

    select * from {{ ref('stg_raw__employees') }}

),

{{ watermark_ctes(marks, incremental) }}

{% if incremental %}

changed_periods as (

    select {{ period_of('c.responded_at') }} as period
    from credits as c, previous
    where c._built_at > coalesce(previous.credits_built_at, '-infinity')

    union

    select {{ period_of('c.responded_at') }}
    from credits as c
    inner join employees as e on c.employee_id = e.employee_id
    cross join previous
    where e.ingested_at > coalesce(previous.employees_ingested_at, '-infinity')

),

-- as time ranges, so the credits of a period are read through their index
changed_ranges as (

    select period, {{ period_bounds('period') }}
    from changed_periods
    where period is not null

),

{% endif %}

credited as (

    select c.*
    {% if incremental %}
        -- (as a join, every credit was joined with the employees' versions and the interactions
        -- before the ranges filtered them)
        from {{ rows_in_ranges('credits', 'responded_at') }} as c
    {% else %}
        from credits as c
    {% endif %}
    where c.employee_id is not null and c.credit_kind = 'attributed'

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
        c.queue
    from credited as c
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

),

fairness as (

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
        (period_end + 1)::timestamp at time zone 'UTC' - interval '1 microsecond' as period_closes_at
    from shrunk

)

select
    '{{ var("program") }}'::text as program,
    fairness.*,
    {{ watermark_columns(marks) }}
from fairness
cross join this_build
{% if incremental %}

union all

-- a period computed again that nobody is in any more: a marker replaces its rows
-- (types spelled out, so that sync_all_columns never rewrites a column)
select
    '{{ var("program") }}'::text, null::text, r.period::char(7), null::text, null::bigint, null::numeric(14, 6),
    null::numeric(6, 4), null::numeric(6, 4), null::numeric(6, 4), null::numeric(6, 4), null::integer,
    null::timestamptz, {{ watermark_columns(marks) }}
from (select period from changed_ranges except select period from fairness) as r
cross join this_build
{% endif %}
