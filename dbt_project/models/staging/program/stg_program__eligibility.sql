with

source as (

    select * from {{ source('program', 'program_eligibility') }}

),

renamed as (

    select
        -- ids
        program,
        version_id,

        -- dimensions
        dimension,
        value as covered_value

    from source

)

select * from renamed
