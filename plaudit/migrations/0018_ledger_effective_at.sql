-- The ledger mart (fct_ledger_entries, incremental) adds the entries posted since its last build
-- (by posted_at, migration 0014) and those of the days between its last build's night and this
-- one's (by effective_at, this index): after a night run again earlier, the entries posted for
-- the later days come back as the nights move on.
create index if not exists ledger_entries_program_effective_at on plaudit.ledger_entries (program, effective_at);
