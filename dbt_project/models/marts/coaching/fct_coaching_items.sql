-- Detractor feedback, attributed like any other, for the manager's private
-- coaching digest: no negative points, a conversation instead. Detractor:
-- CSAT or stars 1–2, NPS 0–6, CES 1–3, thumbs down. The manager is the one in the
-- employee's record valid when the feedback was given.

with

attributed as (

    select * from {{ ref('int_feedback_attributed') }}
    -- this program's attributions; rows without an employee only mark "nobody to credit"
    where program = '{{ var("program") }}' and employee_id is not null

),

employee_versions as (

    select * from {{ ref('stg_raw__employee_history') }}

)

select
    md5(concat_ws('|', a.response_id, a.employee_id)) as coaching_item_id,
    a.response_id,
    a.employee_id,
    e.manager_id,
    a.feedback_kind,
    a.score,
    a.channel,
    a.comment,
    a.attribution_weight::numeric(9, 6) as attribution_weight,
    a.responded_at::timestamptz as responded_at
from attributed as a
inner join employee_versions as e
    on a.employee_id = e.employee_id
    and a.responded_at >= e.valid_from
    and a.responded_at < e.valid_to
where
    (a.feedback_kind in ('csat', 'stars') and a.score <= 2)
    or (a.feedback_kind = 'nps' and a.score <= 6)
    or (a.feedback_kind = 'ces' and a.score <= 3)
    or (a.feedback_kind = 'thumbs' and a.score = 0)
-- in the order of the primary key, which the table is written with (see fct_ledger_entries)
order by coaching_item_id
