-- The rules engine: caps, gamification and explanations. Each ledger entry
-- records the attribution weight it used and the points a cap held back
-- (points over a cap are recorded, never silently lost).
alter table plaudit.ledger_entries add column attribution_weight numeric(9, 6) not null default 1;
alter table plaudit.ledger_entries add column capped_points numeric(12, 2) not null default 0
    check (capped_points >= 0);
