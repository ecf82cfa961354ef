-- Monthly challenges of each program version: reaching `goal` events of a
-- metric within one period earns `points`; a null period means every period.

with

source as (

    select * from {{ source('program', 'program_versions') }}

),

renamed as (

    select
        -- ids
        source.program,
        source.version_id,
        c.value ->> 'name' as challenge_id,

        -- dimensions
        c.value ->> 'metric' as metric,
        c.value ->> 'period' as challenge_period,

        -- numerics
        (c.value ->> 'goal')::bigint as goal,
        (c.value ->> 'points')::numeric(10, 2) as points

    from source
    cross join lateral jsonb_array_elements(coalesce(source.definition -> 'challenges', '[]'::jsonb)) as c (value)

)

select * from renamed
