-- The customers-served events (int_employee_served_events) are incremental by
-- (interaction, employee): a build looks again at the pairs of employees loaded or
-- changed since, and at the pairs touched between the last build's night and this
-- one's. Both through an index.
create index if not exists interaction_participants_employee on raw.interaction_participants (employee_id);
create index if not exists interaction_participants_touched_at on raw.interaction_participants (touched_at);
