-- Incremental models find what changed since their last build by load time.
create index if not exists feedback_responses_ingested_at on raw.feedback_responses (_ingested_at);
create index if not exists feedback_responses_responded_at on raw.feedback_responses (responded_at);
create index if not exists interaction_participants_ingested_at on raw.interaction_participants (_ingested_at);
create index if not exists feedback_responses_interaction on raw.feedback_responses (interaction_id);

-- int_feedback_attributed became incremental, with new bookkeeping columns:
-- drop the old full-refresh table so the next build starts it afresh.
drop table if exists intermediate.int_feedback_attributed;
