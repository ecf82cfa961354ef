select
    -- ids
    employee_id,
    nullif(manager_id, '') as manager_id,

    -- dimensions
    full_name,
    {{ first_name_of('full_name') }} as first_name,
    team,
    cost_centre,
    role as employee_role,
    location,
    status as employment_status,

    -- dates
    hire_date,
    terminated_on,

    -- timestamps: the version is valid over [valid_from, valid_to)
    valid_from,
    valid_to

from {{ source('raw', 'employee_history') }}
