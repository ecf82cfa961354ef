-- The entries the night would post: those the build found not posted, less any posted since.

{{ config(materialized='view') }}

select entry_id, program, version_id, employee_id, entry_kind, source_kind, source_id, rule_id,
    attribution_weight, multiplier, points, capped_points, period, effective_at, posted
from {{ ref('fct_ledger_entries') }}
where not posted
