-- The periodic and instant awards the ledger mart calls for, in the periods not yet settled
-- (fct_award_proposals adds the carried ones, prices, routes and budgets them all):
--
--   periodic  each employee's points in a period, the entry kinds paid instantly left out
--   instant   one per entry of a kind listed in `awards.instant` with points > 0
--
-- A period whose periodic award exists is settled (int_periodic_awards_made): its periodic award
-- would be that one, and its instant ones were paid by it (a late entry lands in the next open
-- period). Leaving settled periods out before the sums is the same as dropping their awards
-- later, without summing history (at M, summing every period took most of 6.6 s).
--
-- A table of its own, apart from the proposals: a night that only carries deferred awards (at L,
-- ten to twenty thousand a night while no period is closed) changes the awards but none of this
-- model's inputs, so it is left as it is (materializations/table.sql) and the proposals read it
-- instead of the seven million entries of the mart (9.6 s of such a night at L).
-- Whether a candidate's period has ended by the night, and whether its award already exists,
-- the proposals decide: neither is known here, so the night's date is not in this SQL.

with

entries as (

    select * from {{ ref('fct_ledger_entries') }}

),

versions as (

    select * from {{ ref('stg_program__versions') }}
    where program = '{{ var("program") }}'

),

settled as (

    select employee_id, period
    from {{ ref('int_periodic_awards_made') }}
    where program = '{{ var("program") }}'

),

typed as (

    select entries.*, {{ is_instant('entries.entry_kind', 'v.instant_kinds') }} as is_instant
    from entries
    inner join versions as v on entries.version_id = v.version_id
    where not exists (
        select 1 from settled as s where s.employee_id = entries.employee_id and s.period = entries.period
    )

),

periodic as (

    select
        md5(concat_ws('|', '{{ var("program") }}', period, employee_id, 'periodic')) as award_id,
        'periodic' as award_kind,
        employee_id,
        period,
        null::text as source_entry_id,
        sum(points) as points,
        bool_or(entry_kind = 'nomination_points') as has_nomination,
        null::timestamptz as instant_at
    from typed
    where not is_instant
    group by employee_id, period

),

instant as (

    select
        md5(concat_ws('|', '{{ var("program") }}', entry_id, 'instant')) as award_id,
        'instant' as award_kind,
        employee_id,
        period,
        entry_id as source_entry_id,
        points,
        entry_kind = 'nomination_points' as has_nomination,
        effective_at as instant_at
    from typed
    where is_instant and points > 0

)

select
    award_id,
    '{{ var("program") }}'::text as program,
    award_kind::text as award_kind,
    employee_id,
    period::char(7) as period,
    source_entry_id,
    points::numeric(12, 2) as points,
    has_nomination,
    instant_at
from (
    select * from periodic
    union all
    select * from instant
) as candidates
