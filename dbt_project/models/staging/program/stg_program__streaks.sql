-- Streak rules of each program version: `days` working days in a row with
-- positive feedback earn `points` (read from the stored program definition).

with

source as (

    select * from {{ source('program', 'program_versions') }}

),

renamed as (

    select
        -- ids
        source.program,
        source.version_id,
        s.value ->> 'name' as streak_id,

        -- numerics
        (s.value ->> 'days')::integer as streak_days,
        (s.value ->> 'points')::numeric(10, 2) as points

    from source
    cross join lateral jsonb_array_elements(coalesce(source.definition -> 'streaks', '[]'::jsonb)) as s (value)

)

select * from renamed
