-- Milestone rules of each program version: the `at`-th event of a metric
-- (five-star ratings, customers served, positive feedback) earns `points` once.

with

source as (

    select * from {{ source('program', 'program_versions') }}

),

renamed as (

    select
        -- ids
        source.program,
        source.version_id,
        m.value ->> 'name' as milestone_id,

        -- dimensions
        m.value ->> 'metric' as metric,

        -- numerics
        (m.value ->> 'at')::bigint as reached_at_count,
        (m.value ->> 'points')::numeric(10, 2) as points

    from source
    cross join lateral jsonb_array_elements(coalesce(source.definition -> 'milestones', '[]'::jsonb)) as m (value)

)

select * from renamed
