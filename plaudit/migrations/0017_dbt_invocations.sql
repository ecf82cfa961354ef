-- When each `dbt build` began, by the database's clock (dbt's on-run-start hook, note_invocation
-- in dbt_project/macros/tests.sql). A data test on "the rows the latest build wrote" checks the
-- rows its own build wrote since then: a build that wrote nothing into a table checks nothing
-- there. The largest `_built_at` alone checked the build before it again (after a full refresh,
-- all history: the credited-weights test 2.2 s at M, 14 s at L, on the next night with nothing
-- new). The database's clock, not dbt's: a server whose clock is behind the host's would
-- otherwise have its rows look older than the build and go unchecked.
create table plaudit.dbt_invocations (
    invocation_id text primary key,
    started_at timestamptz not null default now()
);
