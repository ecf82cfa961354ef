-- Funding legs, frozen with their award when it is created: what each B2B
-- account co-funds and what the company budget pays. They sum to the award.
create table plaudit.award_funding (
    award_id        text not null references plaudit.awards,
    funding_source  text not null check (funding_source in ('company', 'account')),
    account_id      text not null default '',      -- '' for the company leg
    amount_minor    bigint not null check (amount_minor >= 0),
    currency        char(3) not null,
    primary key (award_id, funding_source, account_id)
);

-- A closed period: its awards, decisions and funding never change after, and
-- late feedback lands in the next open period.
create table plaudit.period_closes (
    program         text not null,
    period          char(7) not null,
    closed_by       text not null,
    closed_at       timestamptz not null default now(),
    deferred_awards integer not null default 0,
    primary key (program, period)
);

create function plaudit.refuse_closed_period_change() returns trigger language plpgsql as $$
declare
    p char(7);
    prog text;
begin
    if tg_table_name = 'awards' then
        p := old.period; prog := old.program;
    else
        select a.period, a.program into p, prog from plaudit.awards a where a.award_id = new.award_id;
    end if;
    if exists (select 1 from plaudit.period_closes c where c.program = prog and c.period = p) then
        raise exception 'period % of program % is closed: its awards and decisions cannot change', p, prog;
    end if;
    return new;
end $$;

create trigger awards_closed_period before update on plaudit.awards
    for each row execute function plaudit.refuse_closed_period_change();
create trigger approval_decisions_closed_period before insert on plaudit.approval_decisions
    for each row execute function plaudit.refuse_closed_period_change();
