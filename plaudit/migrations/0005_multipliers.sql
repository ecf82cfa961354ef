-- Points multipliers by date range and by channel, and the multiplier each ledger entry used.
create table plaudit.program_multipliers (
    program         text not null,
    version_id      text not null,
    multiplier_id   text not null,
    channel         text not null default '*',   -- '*' = every channel
    factor          numeric(8, 4) not null check (factor > 0),
    valid_from      date,                         -- feedback on or after (UTC); null = always
    valid_to        date,                         -- feedback on or before (UTC); null = always
    primary key (program, version_id, multiplier_id, channel),
    foreign key (program, version_id) references plaudit.program_versions
);

alter table plaudit.ledger_entries add column multiplier numeric(8, 4) not null default 1;
