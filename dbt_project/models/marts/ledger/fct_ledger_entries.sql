-- Every ledger entry up to the night: those posted (plaudit.ledger_entries, as they were posted)
-- and those the rules call for that are not posted yet (int_unposted_ledger_entries: how they are
-- computed, their periods, their ids). A posted entry is the ledger's row, whatever the rules say
-- now: corrections and reversals compensate it. So the mart sums to the ledger once its entries
-- are posted, and a balance (fct_employee_balances) or a period's points (int_award_candidates)
-- is what finance sees in plaudit.ledger_entries.
--
-- A view: an entry not posted that was posted since the build (the night's publish step) is
-- read once, as posted. Until 2026-12-05 the mart was a table holding a copy of the ledger and a
-- `posted` flag, which the build after a publication wrote again for every entry published (at
-- L, the night after the full night: 65 s for seven million entries).
--
-- A night run again after later nights posted leaves their entries out (the filter on the night,
-- in the SQL only then: a view whose SQL is as it was is left as it is, and so are the tables
-- that read it, materializations/view.sql and table.sql).

{{ config(materialized='view') }}

select
    entry_id, program, version_id, employee_id, entry_kind, source_kind, source_id, rule_id,
    attribution_weight, multiplier, points, capped_points, period, effective_at, true as posted
from {{ ref('stg_plaudit__ledger_entries') }}
{%- if ledger_has_entries_after_the_night() %}
where effective_at < {{ night_end() }}
{%- endif %}
union all
select
    entry_id, program, version_id, employee_id, entry_kind, source_kind, source_id, rule_id,
    attribution_weight, multiplier, points, capped_points, period, effective_at, false
from {{ ref('int_unposted_ledger_entries') }} as unposted
where unposted.entry_id <> ''  -- (the marker row)
    and not exists (
        select 1 from {{ ref('stg_plaudit__ledger_entries') }} as already where already.entry_id = unposted.entry_id
    )
