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
--
-- Incremental: an entry's correction changes only when its posted row, its earlier
-- corrections or what the rules give for it do, and the rules' points for feedback and
-- nominations are int_points_capped_by_period's, computed again a day at a time (each day of a
-- period from the first whose entries can have changed) whenever anything that feeds them changed
-- (new, late or re-attributed feedback, a flag raised, dropped or decided, a retraction; a source
-- that moved to another day changes both). So a build compares only the posted entries that can
-- have changed: those of the days the caps computed since its last build, those posted since, those
-- corrected or reversed since (a correction posted is one), and those of the days since its last
-- build's night (an earlier night run again brings them back). It keeps the corrections it stored
-- for every other entry as they were. It compares everything after a night earlier than its
-- last build's, and when a quarter of the ledger or more was posted since (the catch-up at the
-- end of a first night: at L comparing only those took 87.7 s for what a full comparison does in
-- about 15). The table is replaced for the night's program on each build (delete+insert on
-- `program`; it holds the corrections to post, not history) and keeps a marker row (no entry)
-- with the build's marks and how many posted entries it compared (`compared_entries`).
-- Until 2026-12-04 every build compared every posted entry with every entry the rules give: at
-- L, 12.4 s of a night after a publication that had nothing else to do (bench/RESULTS.md).

{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='program',
    tags=['ledger_catch_up'],
    on_schema_change='sync_all_columns',
) }}

{% set marks = ledger_marks() %}
{% set incremental = is_incremental_over(marks) and not built_for_a_later_night()
    and not much_of_the_ledger_posted_since() %}

with

{{ watermark_ctes(marks, incremental, known=true) }}

posted as not materialized (

    select * from {{ ref('stg_plaudit__ledger_entries') }}

),
{% if incremental %}

changed_ranges as (

    -- the days the caps computed since (as time ranges: the ledger is read through its index)
    select {{ day_bounds('day') }}
    from (
        select distinct c.entry_day as day
        from {{ ref('int_points_capped_by_period') }} as c, previous
        where c.program = '{{ var("program") }}' and c._built_at > coalesce(previous.capped_built_at, '-infinity')
    ) as changed

),

adjusted_since as (

    select distinct l.source_id as entry_id
    from posted as l, previous
    where l.source_kind = 'ledger_entry' and l.posted_at > coalesce(previous.ledger_posted_at, '-infinity')

),

candidates as (

    select p.* from {{ rows_in_ranges('posted', 'effective_at') }} as p
    union
    select p.* from posted as p, previous
    where p.posted_at > coalesce(previous.ledger_posted_at, '-infinity')
        or p.effective_at >= coalesce(previous.night_end, '-infinity')
    union
    select p.* from posted as p inner join adjusted_since as a on p.entry_id = a.entry_id

),
{% else %}

candidates as not materialized (

    select * from posted

),
{% endif %}

expected as (

    -- what the rules give for feedback and nominations: the points after caps (int_points_earned's
    -- other parts are bonuses, read through the caps' source index)
    select * from {{ ref('int_points_capped') }}

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

compared_entries as not materialized (

    -- entries this night covers (running an earlier night again must not undo later ones)
    select * from candidates as p
    where p.source_kind in ('feedback', 'nomination')
        and p.effective_at < {{ night_end() }}

),

originals as (

    select * from compared_entries as p
    where not exists (
            select 1 from undecided_flags as u
            where u.source_kind = p.source_kind and u.source_id = p.source_id and u.employee_id = p.employee_id
        )

),

adjusted as (

    -- corrections and reversals (`plaudit flags confirm`) name the entry they correct (through
    -- the ledger's index of them, migration 0019)
    select a.source_id as entry_id, sum(a.points) as points, count(*) as corrections
    from posted as a
    where a.source_kind = 'ledger_entry'
        {%- if incremental %} and a.source_id in (select o.entry_id from originals as o){% endif %}
    group by a.source_id

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
    -- feedback and nomination entries: by the caps' source index when a night compares a few
    left join expected as e on {% if incremental %}e.source_kind = o.source_kind and e.source_id = o.source_id
        and {% endif %}e.entry_id = o.entry_id

),

corrections as (

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

),

{% set columns = 'entry_id, entry_kind, source_kind, source_id, employee_id, version_id, rule_id, attribution_weight,'
    ~ ' rule_points, multiplier, points, capped_points, channel, feedback_kind, score, effective_at, corrected_period' %}
rows_ as (

    select {{ columns }}, null::bigint as compared_entries from corrections
    {%- if incremental %}
    union all
    -- the corrections stored for the entries not compared, as they were
    select {{ columns }}, null
    from {{ this }} as t
    where t.program = '{{ var("program") }}' and t.entry_id is not null
        and not exists (select 1 from candidates as c where c.entry_id = t.source_id)
    {%- endif %}
    union all
    -- the marker: this build's marks are kept when it finds nothing to correct
    select {% for c in columns.split(', ') %}null, {% endfor %}(select count(*) from compared_entries)

)

select
    '{{ var("program") }}'::text as program,
    entry_id::text as entry_id,
    entry_kind::text as entry_kind,
    source_kind::text as source_kind,
    source_id::text as source_id,
    employee_id::text as employee_id,
    version_id::text as version_id,
    rule_id::text as rule_id,
    attribution_weight::numeric(9, 6) as attribution_weight,
    rule_points::numeric(12, 2) as rule_points,
    multiplier::numeric(8, 4) as multiplier,
    points::numeric(12, 2) as points,
    capped_points::numeric(12, 2) as capped_points,
    channel::text as channel,
    feedback_kind::text as feedback_kind,
    score::integer as score,
    effective_at::timestamptz as effective_at,
    corrected_period::char(7) as corrected_period,
    compared_entries::bigint as compared_entries,
    {{ watermark_columns(marks) }},
    now() as _built_at
from rows_, this_build
