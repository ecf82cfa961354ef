-- Compensating entries for posted feedback and nomination points that the
-- rules no longer call for, or call for differently: the feedback was
-- retracted, re-attributed to someone else (the interaction was reassigned),
-- or its score corrected. Posted points of feedback held by a gaming flag
-- nobody has decided yet are left alone: `plaudit flags confirm` reverses them,
-- `clear` keeps them. The ledger is never
-- edited; each correction is a new entry of kind `correction` whose points
-- bring the entry's net (its points plus every earlier correction or
-- reversal of it) to what the rules now give:
--
--   correction = expected points − (posted points + earlier corrections)
--
-- Its id hashes the corrected entry and how many corrections it already has,
-- so running a night again posts nothing twice. The period is chosen in
-- fct_ledger_entries (an adjustment in the next open period when the entry's
-- award already exists or its period is closed).

with

posted as (

    select * from {{ ref('stg_plaudit__ledger_entries') }}

),

expected as (

    select * from {{ ref('int_points_earned') }}

),

retracted as (

    select * from {{ ref('stg_plaudit__feedback_retractions') }}

),

undecided_flags as (

    select f.source_kind, f.source_id, f.employee_id
    from {{ ref('int_gaming_flags') }} as f
    left join {{ ref('stg_plaudit__gaming_flags') }} as d on f.flag_id = d.flag_id
    where coalesce(d.status, 'held') = 'held'

),

originals as (

    -- entries this night covers (running an earlier night again must not undo later ones)
    select * from posted as p
    where p.source_kind in ('feedback', 'nomination')
        and p.effective_at < {{ night_end() }}
        and not exists (
            select 1 from undecided_flags as u
            where u.source_kind = p.source_kind and u.source_id = p.source_id and u.employee_id = p.employee_id
        )

),

adjusted as (

    -- corrections and reversals (`plaudit flags confirm`) name the entry they correct
    select source_id as entry_id, sum(points) as points, count(*) as corrections
    from posted
    where source_kind = 'ledger_entry'
    group by source_id

),

compared as (

    select
        o.*,
        o.points + coalesce(a.points, 0) as net_points,
        coalesce(a.corrections, 0) as corrections,
        coalesce(e.points, 0) as expected_points,
        case
            when exists (select 1 from retracted as r where o.source_kind = 'feedback' and r.response_id = o.source_id)
                then 'feedback_retracted'
            when e.entry_id is null then 'no_longer_earned'
            else 'points_changed'
        end as reason
    from originals as o
    left join adjusted as a on o.entry_id = a.entry_id
    left join expected as e on o.entry_id = e.entry_id

)

select
    md5(concat_ws('|', program, 'correction', entry_id, corrections)) as entry_id,
    'correction'::text as entry_kind,
    'ledger_entry'::text as source_kind,
    entry_id as source_id,
    employee_id,
    version_id,
    ('correction:' || reason)::text as rule_id,
    attribution_weight,
    (expected_points - net_points)::numeric(12, 2) as rule_points,
    multiplier,
    (expected_points - net_points)::numeric(12, 2) as points,
    0::numeric(12, 2) as capped_points,
    null::text as channel,
    null::text as feedback_kind,
    null::integer as score,
    effective_at,
    -- the period of the entry it corrects (fct_ledger_entries moves it on when needed)
    period as corrected_period
from compared
where expected_points <> net_points
