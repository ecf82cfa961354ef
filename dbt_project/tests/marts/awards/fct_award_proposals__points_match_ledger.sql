-- A periodic award's points equal the sum of the employee's ledger entries in
-- its period, less the kinds paid as instant awards; an instant award's points
-- equal its entry's. (A carried award keeps the points of the one it reconsiders.)
--
-- The ledger mart is a view whose halves the planner does not join entry by entry (each has a
-- WHERE of its own: docs/decisions.md), so the two kinds are checked apart: an instant award's
-- entry is looked up by id (looked_up: the id is pushed into each half, read by index), and the
-- periodic awards' entries are read for their periods only, written in as constants (read when
-- the test runs, after the proposals are built). A night with no periodic award (any but a
-- month's end) then reads nothing of the ledger for them. As one join on
-- `periodic and same period, or instant and same entry`, every night read all seven million
-- entries at L for a few hundred instant awards (2.35 s, on the night's critical path).
{%- set periods = [] -%}
{%- if execute -%}
    {%- set periods = run_query(
        "select distinct period from " ~ ref('fct_award_proposals')
        ~ " where award_kind = 'periodic' and carried_from is null order by period").columns[0].values() -%}
{%- endif %}

with

proposals as (

    select * from {{ ref('fct_award_proposals') }}
    where carried_from is null

),

periodic as (

    select a.award_id, a.points, coalesce(sum(l.points), 0) as ledger_points
    from proposals as a
    left join (
        select l.employee_id, l.period, l.points
        from {{ ref('fct_ledger_entries') }} as l
        inner join {{ ref('stg_program__versions') }} as v on l.version_id = v.version_id
        where not {{ is_instant('l.entry_kind', 'v.instant_kinds') }}
        {%- if periods %}
            and l.period in ('{{ periods | join("', '") }}')
        {%- else %}
            and false
        {%- endif %}
    ) as l
        on a.employee_id = l.employee_id
        and a.period = l.period
    where a.award_kind = 'periodic'
    group by a.award_id, a.points

),

instant as (

    select a.award_id, a.points, coalesce(l.points, 0) as ledger_points
    from proposals as a
    left join {{ looked_up(ref('fct_ledger_entries'), 'l',
        'l.entry_id = a.source_entry_id and l.employee_id = a.employee_id', 'l.points') }} as l on true
    where a.award_kind = 'instant'

)

select award_id from periodic where points <> ledger_points
union all
select award_id from instant where points <> ledger_points
