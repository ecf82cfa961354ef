-- Periods finance has closed, for this program.

select
    -- ids
    program,
    period,

    -- dimensions
    closed_by,

    -- timestamps
    closed_at

from {{ source('plaudit', 'period_closes') }}
where program = '{{ var("program") }}'
