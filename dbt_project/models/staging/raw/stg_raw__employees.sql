select
    -- ids
    employee_id,
    nullif(manager_id, '') as manager_id,

    -- dimensions
    full_name,
    {{ first_name_of('full_name') }} as first_name,
    lower(email) as email,
    email_hash,
    coalesce(nullif(locale, ''), 'en') as locale,
    team,
    cost_centre,
    role as employee_role,
    location,
    status as employment_status,

    -- dates
    hire_date,
    terminated_on,

    -- timestamps: loaded or last changed (a reloaded, unchanged employee keeps it)
    _ingested_at as ingested_at

from {{ source('raw', 'employees') }}
