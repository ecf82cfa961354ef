-- The incremental models (fairness, gaming flags) look for interactions loaded
-- or changed since their last build: by load time, through an index.
create index if not exists interactions_ingested_at on raw.interactions (_ingested_at);
