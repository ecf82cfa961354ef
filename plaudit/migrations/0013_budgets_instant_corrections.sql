-- Budgets per team and cost centre enforced by the database, instant awards,
-- deferred awards carried to the next period, retracted feedback, exchange
-- rates, and the email domain of nominators (for the nomination-burst rule).

-- What an award draws on, fixed when it is created.
alter table plaudit.awards
    add column team text,
    add column cost_centre text,
    add column carried_from text references plaudit.awards,   -- the deferred award this one reconsiders
    add column source_entry_id text,                          -- an instant award's ledger entry
    add column points_period char(7);                         -- the period whose points it pays

-- Budgets never overspent, whoever inserts: each new award takes the program
-- period's lock, sums what is already pending or approved in its program,
-- team and cost centre, and is deferred with "budget exhausted" if it does not
-- fit. Two publishers at once queue on the lock; the second sees the first's
-- awards once it has committed (read committed: each statement here takes a
-- fresh snapshot).
create function plaudit.keep_within_budget() returns trigger language plpgsql as $$
declare
    budget jsonb;
    scope record;
    spent bigint;
begin
    if new.status not in ('pending', 'approved') then
        return new;
    end if;
    perform pg_advisory_xact_lock(hashtext('plaudit.budget|' || new.program || '|' || new.period));
    select definition -> 'budget' into budget
    from plaudit.program_versions where program = new.program and version_id = new.version_id;
    for scope in
        select 'the program' as label, round((budget ->> 'monthly')::numeric * 100)::bigint as limit_minor,
               null::text as team, null::text as cost_centre
        union all
        select 'team ' || new.team, round((budget -> 'teams' ->> new.team)::numeric * 100)::bigint, new.team, null
        where new.team is not null
        union all
        select 'cost centre ' || new.cost_centre,
               round((budget -> 'cost_centres' ->> new.cost_centre)::numeric * 100)::bigint, null, new.cost_centre
        where new.cost_centre is not null
    loop
        continue when scope.limit_minor is null;
        select coalesce(sum(a.amount_minor), 0) into spent
        from plaudit.awards a
        where a.program = new.program and a.period = new.period and a.status in ('pending', 'approved')
          and (scope.team is null or a.team = scope.team)
          and (scope.cost_centre is null or a.cost_centre = scope.cost_centre);
        if spent + new.amount_minor > scope.limit_minor then
            new.status := 'deferred';
            new.status_reason := format('budget exhausted: %s has %s %s left of %s for %s',
                scope.label, to_char((scope.limit_minor - spent) / 100.0, 'FM999999999990.00'), new.currency,
                to_char(scope.limit_minor / 100.0, 'FM999999999990.00'), new.period);
            return new;
        end if;
    end loop;
    return new;
end $$;

create trigger awards_within_budget before insert on plaudit.awards
    for each row execute function plaudit.keep_within_budget();

-- Feedback withdrawn by the customer or found invalid: it earns nothing from
-- the next night on, and points it already posted are reversed by correction
-- entries (in the next open period when their award exists or their period is
-- closed).
create table plaudit.feedback_retractions (
    response_id     text primary key,
    retracted_by    text not null,
    reason          text not null,
    retracted_at    timestamptz not null default now()
);

-- Rates to convert award amounts into a co-funding account's currency, as of
-- the award date (the latest rate on or before it).
create table raw.exchange_rates (
    rate_date       date not null,
    from_currency   char(3) not null,
    to_currency     char(3) not null,
    rate            numeric(18, 8) not null check (rate > 0),
    updated_at      timestamptz,
    _row_hash       text not null,
    _source_file    text not null,
    _source_line    bigint not null,
    _ingested_at    timestamptz not null default now(),
    primary key (rate_date, from_currency, to_currency)
);

-- A co-funding leg in the account's own currency.
alter table plaudit.award_funding
    add column account_currency char(3),
    add column account_amount_minor bigint check (account_amount_minor >= 0),
    add column rate numeric(18, 8),
    add column rate_date date;

-- The nominator's email domain, as a keyed hash (the domain is not kept in clear).
alter table raw.nominations add column customer_domain_hash text;
