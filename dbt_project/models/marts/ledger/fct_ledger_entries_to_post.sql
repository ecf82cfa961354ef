-- The entries the night would post: not in the ledger when the mart was built
-- (through the mart's partial index on them), and not posted since.

{{ config(materialized='view') }}

select
    ledger.entry_id, ledger.program, ledger.version_id, ledger.employee_id, ledger.entry_kind,
    ledger.source_kind, ledger.source_id, ledger.rule_id, ledger.attribution_weight, ledger.multiplier,
    ledger.points, ledger.capped_points, ledger.period, ledger.effective_at, ledger.posted
from {{ ref('fct_ledger_entries') }} as ledger
where not ledger.posted
    and not exists (
        select 1 from {{ ref('stg_plaudit__ledger_entries') }} as already
        where already.entry_id = ledger.entry_id
    )
