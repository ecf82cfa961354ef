-- Tiers of each program version, from rolling 12-month points, with the next
-- tier's threshold (null for the top tier).

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

select
    renamed.*,
    lead(tier_name) over (partition by program, version_id order by tier_rank) as next_tier_name,
    lead(min_points) over (partition by program, version_id order by tier_rank) as next_tier_min_points
from renamed
