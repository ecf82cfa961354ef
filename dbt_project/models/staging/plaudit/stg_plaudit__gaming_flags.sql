-- Gaming flags already published for this program, with what people decided.

select
    -- ids
    flag_id,
    employee_id,
    source_id,

    -- dimensions
    flag_kind,
    status,

    -- timestamps
    decided_at

from {{ source('plaudit', 'gaming_flags') }}
where program = '{{ var("program") }}'
