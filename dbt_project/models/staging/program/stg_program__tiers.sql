-- Tiers of each program version, from rolling 12-month points, lowest first.

with

source as (

    select * from {{ source('program', 'program_versions') }}

),

renamed as (

    select
        -- ids
        source.program,
        source.version_id,
        t.value ->> 'name' as tier_name,

        -- numerics
        t.ordinality::integer as tier_rank,
        (t.value ->> 'min_points')::numeric(12, 2) as min_points,
        coalesce((t.value ->> 'bonus')::numeric(10, 2), 0) as bonus_points

    from source
    cross join lateral jsonb_array_elements(coalesce(source.definition -> 'tiers', '[]'::jsonb))
        with ordinality as t (value, ordinality)

)

select * from renamed
