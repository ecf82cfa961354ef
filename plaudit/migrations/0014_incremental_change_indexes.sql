-- The incremental models (fairness, gaming flags) look for interactions loaded
-- or changed since their last build: by load time, through an index.
create index if not exists interactions_ingested_at on raw.interactions (_ingested_at);

-- The caps (int_points_capped_by_period) look again at the periods of the entries
-- posted since their last build.
create index if not exists ledger_entries_program_posted_at on plaudit.ledger_entries (program, posted_at);
