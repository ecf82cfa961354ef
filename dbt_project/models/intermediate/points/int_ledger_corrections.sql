-- The night's program's compensating entries (int_ledger_corrections_by_program keeps every
-- program's, and a marker row for each program's last build): what int_unposted_ledger_entries reads.

{{ config(materialized='view') }}

select
    entry_id,
    entry_kind,
    source_kind,
    source_id,
    employee_id,
    version_id,
    rule_id,
    attribution_weight,
    rule_points,
    multiplier,
    points,
    capped_points,
    channel,
    feedback_kind,
    score,
    effective_at,
    corrected_period
from {{ ref('int_ledger_corrections_by_program') }}
where program = '{{ var("program") }}' and entry_id is not null
