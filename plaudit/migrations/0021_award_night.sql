-- The night each award was created in (its run's night). A deferred award is carried into the
-- first month that had not ended on that night (fct_award_proposals): the month whose budget was
-- still to be spent. Without it, a night that priced months long ended (the first night over a
-- history, or one after a pause) deferred awards into each of those months in turn, one month a
-- night, writing a deferred award per month passed (at L, 1.25 million after four nights).
alter table plaudit.awards add column night date;

comment on column plaudit.awards.night is
    'The night of the run that created the award (plaudit.runs.night); null for an award made by hand.';

-- The awards made so far get their run's night. Writing a column the award did not have changes
-- none of its terms, so the trigger that keeps a closed period's awards as they are stands aside
-- for this statement only.
alter table plaudit.awards disable trigger awards_closed_period;
update plaudit.awards as a set night = r.night from plaudit.runs as r where r.run_id = a.run_id;
alter table plaudit.awards enable trigger awards_closed_period;
