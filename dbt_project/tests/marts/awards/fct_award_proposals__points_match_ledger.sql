-- A periodic award's points equal the sum of the employee's ledger entries in
-- its period, less the kinds paid as instant awards; an instant award's points
-- equal its entry's. (A carried award keeps the points of the one it reconsiders.)
with

entries as (

    select l.*, {{ is_instant('l.entry_kind', 'v.instant_kinds') }} as is_instant
    from {{ ref('fct_ledger_entries') }} as l
    inner join {{ ref('stg_program__versions') }} as v on l.version_id = v.version_id

)

select a.award_id
from {{ ref('fct_award_proposals') }} as a
left join entries as l
    on a.employee_id = l.employee_id
    and (
        (a.award_kind = 'periodic' and a.period = l.period and not l.is_instant)
        or (a.award_kind = 'instant' and a.source_entry_id = l.entry_id)
    )
where a.carried_from is null
group by a.award_id, a.points
having a.points <> coalesce(sum(l.points), 0)
