-- Points balance per employee, derived from the ledger entries (never stored apart).

with

entries as (

    select * from {{ ref('fct_ledger_entries') }}

),

employees as (

    select * from {{ ref('stg_raw__employees') }}

)

select
    e.employee_id,
    '{{ var("program") }}'::text as program,
    coalesce(sum(entries.points), 0)::numeric(14, 2) as balance_points,
    count(entries.entry_id)::bigint as entry_count,
    max(entries.effective_at) as last_entry_at
from employees as e
left join entries on e.employee_id = entries.employee_id
group by e.employee_id
