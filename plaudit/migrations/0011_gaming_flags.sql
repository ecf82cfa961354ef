-- Gaming flags: feedback held (no points) until someone clears or confirms it.
create table plaudit.gaming_flags (
    flag_id         text primary key,
    program         text not null,
    flag_kind       text not null,
    source_kind     text not null,
    source_id       text not null,
    employee_id     text not null,
    detail          text not null,
    status          text not null default 'held' check (status in ('held', 'cleared', 'confirmed')),
    flagged_at      timestamptz not null default now(),
    decided_by      text,
    decided_at      timestamptz,
    reason          text,
    run_id          uuid references plaudit.runs
);
create index on plaudit.gaming_flags (program, status);
