-- Entries already posted to the append-only ledger, for this program.

select
    -- ids
    entry_id,
    program,
    version_id,
    employee_id,
    source_kind,
    source_id,
    rule_id,

    -- dimensions
    entry_kind,
    period,

    -- numerics
    attribution_weight,
    multiplier,
    points,
    capped_points,

    -- timestamps
    effective_at,
    posted_at

from {{ source('plaudit', 'ledger_entries') }}
where program = '{{ var("program") }}'
