-- Which transactions changed which table, so that a dbt table model whose inputs have not
-- changed since its last build is left as it is (dbt_project/macros/materializations/table.sql).
-- One row per table per transaction that wrote rows to it; rows are never updated or deleted, so
-- the number of a table's rows a build sees says exactly which of its changes it sees (a
-- transaction committing late is counted once it is visible, where a "latest change" watermark
-- could skip it).
--
-- The tables dbt reads (its sources) note their changes with a statement trigger; the tables dbt
-- builds note theirs in their post-hook (after_table_build in macros/night.sql). A statement that
-- wrote no row (an "on conflict do nothing" with nothing new, an update of nothing) notes
-- nothing: the transaction's counts of the table's inserted, updated and deleted rows say so.
-- With `track_counts` off those counts are not kept, and every statement notes a change.
create table plaudit.relation_changes (
    relation text not null,               -- schema.table
    xact xid8 not null default pg_current_xact_id(),
    changed_at timestamptz not null default clock_timestamp(),
    primary key (relation, xact)
);

create function plaudit.note_relation_change(relation_name text, relation_oid oid) returns void
language plpgsql as $$
begin
    if not current_setting('track_counts')::boolean
        or pg_stat_get_xact_tuples_inserted(relation_oid) + pg_stat_get_xact_tuples_updated(relation_oid)
            + pg_stat_get_xact_tuples_deleted(relation_oid) > 0 then
        insert into plaudit.relation_changes (relation) values (relation_name) on conflict do nothing;
    end if;
end
$$;

create function plaudit.relation_changed() returns trigger
language plpgsql as $$
begin
    if tg_op = 'TRUNCATE' then
        insert into plaudit.relation_changes (relation) values (tg_table_schema || '.' || tg_table_name)
        on conflict do nothing;
    else
        perform plaudit.note_relation_change(tg_table_schema || '.' || tg_table_name, tg_relid);
    end if;
    return null;
end
$$;

do $$
declare
    t text;
begin
    foreach t in array array[
        'raw.employees', 'raw.employee_history', 'raw.accounts', 'raw.interactions',
        'raw.interaction_participants', 'raw.feedback_responses', 'raw.nominations', 'raw.exchange_rates',
        'plaudit.program_versions', 'plaudit.program_point_rules', 'plaudit.program_eligibility',
        'plaudit.program_role_weights', 'plaudit.program_multipliers',
        'plaudit.ledger_entries', 'plaudit.period_closes', 'plaudit.gaming_flags', 'plaudit.awards',
        'plaudit.award_funding', 'plaudit.feedback_retractions'
    ] loop
        execute format(
            'create trigger relation_changed after insert or update or delete or truncate on %s'
            ' for each statement execute function plaudit.relation_changed()', t);
    end loop;
end
$$;
