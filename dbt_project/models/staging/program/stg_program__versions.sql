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

        -- dates
        effective_from,
        -- a version is in force until the next one takes effect
        coalesce(
            lead(effective_from) over (partition by program order by effective_from, loaded_at),
            date '9999-12-31'
        ) as effective_to

    from source

)

select * from renamed
