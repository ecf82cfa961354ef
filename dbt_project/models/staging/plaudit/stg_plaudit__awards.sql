-- Awards of this program already created (periodic, instant and carried).

select
    -- ids
    award_id,
    employee_id,
    version_id,
    carried_from,
    source_entry_id,
    coalesce(points_period, period) as points_period,

    -- dimensions
    award_kind,
    period,
    status,
    approval_level,
    currency,
    team,
    cost_centre,
    night,

    -- numerics
    points,
    amount_minor

from {{ source('plaudit', 'awards') }}
where program = '{{ var("program") }}'
