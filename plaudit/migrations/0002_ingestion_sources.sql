-- Ingestion of real exports and APIs: source update times ("newer wins"),
-- customer contact details as keyed hashes only, employee history, API cursors.

alter table raw.employees add column updated_at timestamptz;
alter table raw.employees add column email_hash text;
alter table raw.accounts add column updated_at timestamptz;
alter table raw.interactions add column updated_at timestamptz;
alter table raw.interaction_participants add column updated_at timestamptz;
alter table raw.feedback_responses add column updated_at timestamptz;
alter table raw.feedback_responses add column customer_email_hash text;
alter table raw.feedback_responses add column customer_phone_hash text;
alter table raw.nominations add column updated_at timestamptz;
alter table raw.nominations add column customer_email_hash text;

-- Every version of every employee, valid over [valid_from, valid_to): attribution
-- and eligibility use the team, manager, role and status valid when the feedback
-- was given. The first version known is taken as valid since -infinity.
create table raw.employee_history (
    employee_id     text not null,
    valid_from      timestamptz not null,
    valid_to        timestamptz not null default 'infinity',
    full_name       text not null,
    email           text,
    email_hash      text,
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
    primary key (employee_id, valid_from),
    check (valid_from < valid_to)
);

insert into raw.employee_history (employee_id, valid_from, full_name, email, locale, manager_id, team,
    cost_centre, role, location, hire_date, status, terminated_on, _row_hash, _source_file, _source_line)
select employee_id, '-infinity', full_name, email, locale, manager_id, team,
    cost_centre, role, location, hire_date, status, terminated_on, _row_hash, _source_file, _source_line
from raw.employees;

-- The incremental cursor of each API source: the next pull asks only for what is new.
create table plaudit.api_cursors (
    source          text primary key,
    cursor          text,
    records         bigint not null default 0,
    updated_at      timestamptz not null default now()
);

alter table plaudit.ingests add column source text;
