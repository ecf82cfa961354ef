-- Tables Plaudit owns outside dbt: raw landing tables, quarantine, program
-- versions, the append-only ledger, awards and approvals, the outbox and runs.
create schema if not exists raw;
create schema if not exists plaudit;

-- ---------------------------------------------------------------- raw sources
-- Every raw table keeps where each row came from and a hash of its content:
-- the natural key decides "same record", the hash decides "same content".
create table raw.employees (
    employee_id     text primary key,
    full_name       text not null,
    email           text,
    locale          text,
    manager_id      text,
    team            text,
    cost_centre     text,
    role            text,
    location        text,
    hire_date       date,
    status          text not null,
    terminated_on   date,
    _row_hash       text not null,
    _source_file    text not null,
    _source_line    bigint not null,
    _ingested_at    timestamptz not null default now()
);

create table raw.accounts (
    account_id                  text primary key,
    account_name                text not null,
    segment                     text not null,
    co_funding_share            numeric(5, 4),
    co_funding_monthly_cap      numeric(14, 2),
    currency                    text,
    _row_hash       text not null,
    _source_file    text not null,
    _source_line    bigint not null,
    _ingested_at    timestamptz not null default now()
);

create table raw.interactions (
    interaction_id  text primary key,
    account_id      text,
    customer_id     text,
    interaction_kind text not null,
    channel         text,
    queue           text,
    opened_at       timestamptz not null,
    closed_at       timestamptz,
    _row_hash       text not null,
    _source_file    text not null,
    _source_line    bigint not null,
    _ingested_at    timestamptz not null default now()
);

create table raw.interaction_participants (
    interaction_id  text not null,
    employee_id     text not null,
    participant_role text not null,
    touched_at      timestamptz not null,
    _row_hash       text not null,
    _source_file    text not null,
    _source_line    bigint not null,
    _ingested_at    timestamptz not null default now(),
    primary key (interaction_id, employee_id, participant_role, touched_at)
);

create table raw.feedback_responses (
    response_id     text primary key,
    interaction_id  text,
    employee_id     text,
    feedback_kind   text not null,
    score           integer not null,
    comment         text,
    channel         text,
    responded_at    timestamptz not null,
    _row_hash       text not null,
    _source_file    text not null,
    _source_line    bigint not null,
    _ingested_at    timestamptz not null default now()
);

create table raw.nominations (
    nomination_id   text primary key,
    employee_id     text not null,
    account_id      text,
    customer_id     text,
    reason          text,
    channel         text,
    nominated_at    timestamptz not null,
    _row_hash       text not null,
    _source_file    text not null,
    _source_line    bigint not null,
    _ingested_at    timestamptz not null default now()
);

-- ---------------------------------------------------------------- ingestion
create table plaudit.ingests (
    ingest_id       bigserial primary key,
    kind            text not null,
    source_file     text not null,
    file_sha256     text not null,
    rows_read       bigint not null default 0,
    loaded          bigint not null default 0,
    updated         bigint not null default 0,
    duplicates      bigint not null default 0,
    quarantined     bigint not null default 0,
    started_at      timestamptz not null default now(),
    finished_at     timestamptz
);
create index on plaudit.ingests (kind, file_sha256);

create table plaudit.quarantine (
    quarantine_id   bigserial primary key,
    ingest_id       bigint references plaudit.ingests,
    kind            text not null,
    source_file     text not null,
    source_line     bigint not null,
    raw_text        text,
    reason          text not null,
    quarantined_at  timestamptz not null default now()
);

-- ---------------------------------------------------------------- programs
-- A program version is the canonical content of a program file; its id is a
-- hash of that content, so loading the same file twice adds nothing.
create table plaudit.program_versions (
    program                     text not null,
    version_id                  text not null,
    effective_from              date not null,
    attribution_model           text not null,
    value_per_point             numeric(12, 4) not null,
    currency                    char(3) not null,
    auto_approve_up_to_minor    bigint not null,
    monthly_budget_minor        bigint not null check (monthly_budget_minor >= 0),
    max_award_minor             bigint not null,
    definition                  jsonb not null,
    loaded_at                   timestamptz not null default now(),
    primary key (program, version_id)
);

-- Who a version covers: one row per (dimension, value); no rows for a
-- dimension means everyone is covered on it.
create table plaudit.program_eligibility (
    program         text not null,
    version_id      text not null,
    dimension       text not null check (dimension in ('role')),
    value           text not null,
    primary key (program, version_id, dimension, value),
    foreign key (program, version_id) references plaudit.program_versions
);

create table plaudit.program_point_rules (
    program         text not null,
    version_id      text not null,
    rule_id         text not null,
    feedback_kind   text not null,
    score_min       integer not null,
    score_max       integer not null,
    points          numeric(12, 2) not null,
    primary key (program, version_id, rule_id),
    foreign key (program, version_id) references plaudit.program_versions
);

-- ---------------------------------------------------------------- runs
create table plaudit.runs (
    run_id          uuid primary key,
    program         text not null,
    night           date not null,
    dry_run         boolean not null,
    status          text not null check (status in ('running', 'completed', 'failed', 'refused')),
    started_at      timestamptz not null default now(),
    finished_at     timestamptz,
    summary         jsonb not null default '{}'::jsonb,
    error           text
);
create index on plaudit.runs (program, night);

-- ---------------------------------------------------------------- ledger
-- Append-only: posted entries are never updated or deleted (corrections are
-- compensating entries). The trigger makes the database itself refuse.
create table plaudit.ledger_entries (
    entry_id        text primary key,
    program         text not null,
    version_id      text not null,
    employee_id     text not null,
    entry_kind      text not null,
    source_kind     text not null,
    source_id       text not null,
    rule_id         text not null,
    points          numeric(12, 2) not null,
    period          char(7) not null,
    effective_at    timestamptz not null,
    posted_at       timestamptz not null default now(),
    run_id          uuid references plaudit.runs
);
create index on plaudit.ledger_entries (employee_id, period);

create function plaudit.refuse_ledger_change() returns trigger language plpgsql as $$
begin
    raise exception 'plaudit.ledger_entries is append-only: % refused (post a compensating entry instead)', tg_op
        using errcode = 'P0001';
end $$;

create trigger ledger_entries_append_only
    before update or delete or truncate on plaudit.ledger_entries
    for each statement execute function plaudit.refuse_ledger_change();

-- ---------------------------------------------------------------- awards
create table plaudit.awards (
    award_id        text primary key,
    program         text not null,
    version_id      text not null,
    employee_id     text not null,
    award_kind      text not null,
    period          char(7) not null,
    points          numeric(12, 2) not null,
    amount_minor    bigint not null check (amount_minor >= 0),
    currency        char(3) not null,
    approval_level  text not null check (approval_level in ('auto', 'manager')),
    status          text not null check (status in ('pending', 'approved', 'rejected', 'deferred')),
    status_reason   text not null,
    created_at      timestamptz not null default now(),
    run_id          uuid references plaudit.runs
);
create index on plaudit.awards (status);

create table plaudit.approval_decisions (
    decision_id     bigserial primary key,
    award_id        text not null unique references plaudit.awards,
    decision        text not null check (decision in ('approved', 'rejected')),
    decided_by      text not null,
    reason          text not null,
    decided_at      timestamptz not null default now()
);

-- ---------------------------------------------------------------- outbox
-- One row per message, keyed by what it is about, which template and whom it
-- goes to: however often a night runs, a message is queued once.
create table plaudit.outbox (
    outbox_id       text primary key,
    dedupe_key      text not null unique,
    template        text not null,
    award_id        text references plaudit.awards,
    recipient_employee_id text not null,
    recipient_email text not null,
    message_id      text not null unique,
    state           text not null default 'queued'
                    check (state in ('queued', 'sending', 'sent', 'failed')),
    attempts        integer not null default 0,
    last_error      text,
    delivered_to    text,
    queued_at       timestamptz not null default now(),
    sent_at         timestamptz,
    run_id          uuid references plaudit.runs
);
create index on plaudit.outbox (state);
