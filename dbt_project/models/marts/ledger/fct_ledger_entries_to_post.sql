-- The entries the night would post: not in the ledger when the mart was built
-- (through the mart's partial index on them), and not posted since.

{{ config(materialized='view') }}

select ledger.*
from {{ ref('fct_ledger_entries') }} as ledger
where not ledger.posted
    and not exists (
        select 1 from {{ ref('stg_plaudit__ledger_entries') }} as already
        where already.entry_id = ledger.entry_id
    )
