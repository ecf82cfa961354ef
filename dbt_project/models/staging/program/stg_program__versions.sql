with

source as (

    select * from {{ source('program', 'program_versions') }}

),

renamed as (

    select
        -- ids
        program,
        version_id,

        -- dimensions
        attribution_model,
        half_life_hours,
        currency,

        -- numerics (money in integer minor units)
        value_per_point,
        auto_approve_up_to_minor,
        monthly_budget_minor,
        max_award_minor,

        -- settings read from the stored program definition (jsonb)
        coalesce(definition -> 'attribution' ->> 'comment_names', 'off') as comment_names,
        coalesce((definition ->> 'negative_points')::boolean, false) as negative_points,
        round((definition -> 'awards' ->> 'manager_approves_up_to')::numeric * 100)::bigint
            as manager_approves_up_to_minor,
        (definition -> 'caps' ->> 'per_day')::numeric(10, 2) as cap_per_day,
        (definition -> 'caps' ->> 'per_month')::numeric(12, 2) as cap_per_month,
        coalesce(definition -> 'fairness' ->> 'baseline', 'queue') as fairness_baseline,
        coalesce((definition -> 'fairness' ->> 'prior_weight')::numeric, 20) as fairness_prior_weight,
        coalesce((definition -> 'fairness' ->> 'min_feedback')::integer, 10) as fairness_min_feedback,
        (definition -> 'fairness' -> 'bonus' ->> 'top')::integer as fairness_bonus_top,
        (definition -> 'fairness' -> 'bonus' ->> 'points')::numeric(10, 2) as fairness_bonus_points,
        (definition -> 'gaming' -> 'repeat_rater' ->> 'max_ratings')::integer as gaming_repeat_max,
        (definition -> 'gaming' -> 'repeat_rater' ->> 'days')::integer as gaming_repeat_days,
        (definition -> 'gaming' ->> 'reassigned_within_minutes')::integer as gaming_reassign_minutes,
        (definition -> 'gaming' -> 'nomination_burst' ->> 'max_nominations')::integer as gaming_burst_max,
        (definition -> 'gaming' -> 'nomination_burst' ->> 'days')::integer as gaming_burst_days,
        definition -> 'budget' as budget_definition,
        -- what awards.instant pays at once: nomination, milestone, challenge (see macro is_instant)
        coalesce(definition -> 'awards' -> 'instant', '[]'::jsonb) as instant_kinds,

        -- dates
        loaded_at,
        effective_from,
        -- a version is in force until the next one takes effect
        coalesce(
            lead(effective_from) over (partition by program order by effective_from, loaded_at),
            date '9999-12-31'
        ) as effective_to

    from source

)

select * from renamed
