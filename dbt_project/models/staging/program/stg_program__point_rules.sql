with

source as (

    select * from {{ source('program', 'program_point_rules') }}

),

renamed as (

    select
        -- ids
        program,
        version_id,
        rule_id,

        -- dimensions
        feedback_kind,

        -- numerics
        score_min,
        score_max,
        points

    from source

)

select * from renamed
