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
-- Incremental by period: every term is computed within one period, from the period's sums by
-- day (int_fairness_days: Σ w, Σ w·x and responses per employee, day, channel and queue), so a
-- build computes again only the periods of the days int_fairness_days wrote since this model's
-- last build of the program, adding up their days (the sums are exact numerics: the same result
-- as from every credit). A period computed again replaces its rows (delete+insert on program and
-- period); one left with nobody gets a marker row (no employee). int_employee_fairness is this
-- table for the night's program, without markers, with `is_final` for the night.

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
    'days_built_at': 'select max(_built_at) from days',
} %}
{% set incremental = is_incremental_over(marks) %}

with

days as not materialized (

    select * from {{ ref('int_fairness_days') }}
    where program = '{{ var("program") }}'

),

{{ watermark_ctes(marks, incremental) }}

{% if incremental %}

-- the periods of the days written since (through the (program, _built_at) index)
changed_periods as (

    select distinct d.period
    from days as d, previous
    where d._built_at > coalesce(previous.days_built_at, '-infinity')

),

{% endif %}

-- the sums of the periods computed, read period by period through the (program, period,
-- entry_day) index (looked_up: not flattened into a join)
summed as (

    select d.*
    {% if incremental %}
        from changed_periods as cp
        cross join {{ looked_up('days', 'in_period', 'in_period.period = cp.period') }} as d
    {% else %}
        from days as d
    {% endif %}
    where d.employee_id is not null

),

versions as (

    select * from {{ ref('stg_program__versions') }}
    where program = '{{ var("program") }}'

),

settings as (

    select
        periods.period,
        (to_date(periods.period || '-01', 'YYYY-MM-DD') + interval '1 month' - interval '1 day')::date as period_end,
        v.version_id,
        v.fairness_baseline,
        v.fairness_prior_weight,
        v.fairness_min_feedback
    {% if incremental %}
    from changed_periods as periods
    {% else %}
    from (select distinct period from summed) as periods
    {% endif %}
    inner join versions as v
        on (to_date(periods.period || '-01', 'YYYY-MM-DD') + interval '1 month' - interval '1 day')::date
            >= v.effective_from
        and (to_date(periods.period || '-01', 'YYYY-MM-DD') + interval '1 month' - interval '1 day')::date
            < v.effective_to

),

grouped as (

    -- an employee's sums per baseline group (queue or channel, as the version says); the sort
    -- that groups them is the statement's largest (a month's sums at L: 1.2 million rows), so it
    -- carries nothing else
    select
        summed.period,
        summed.employee_id,
        coalesce(case s.fairness_baseline when 'channel' then summed.channel else summed.queue end, '(none)')
            as baseline_group,
        sum(summed.responses) as responses,
        sum(summed.weight) as w,
        sum(summed.weighted_score) as wx
    from summed
    inner join settings as s on summed.period = s.period
    group by 1, 2, 3

),

baselines as (

    select
        grouped.*,
        sum(wx) over (partition by period, baseline_group)
            / sum(w) over (partition by period, baseline_group) as group_baseline
    from grouped

),

per_employee as (

    select
        employee_id,
        period,
        sum(responses) as responses,
        sum(w) as effective_responses,
        sum(wx) / sum(w) as observed_score,
        sum(w * group_baseline) / sum(w) as baseline_score
    from baselines
    group by employee_id, period

),

shrunk as (

    select
        per_employee.*,
        s.version_id,
        s.period_end,
        s.fairness_min_feedback as min_feedback,
        baseline_score + effective_responses / (effective_responses + s.fairness_prior_weight)
            * (observed_score - baseline_score) as shrunk_score
    from per_employee
    inner join settings as s on per_employee.period = s.period

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
from (select period from changed_periods except select period from fairness) as r
cross join this_build
{% endif %}
