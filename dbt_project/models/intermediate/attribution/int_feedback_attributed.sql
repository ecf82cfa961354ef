-- Each piece of feedback given before the end of the night, shared among the
-- employees who touched the interaction before the feedback, under the
-- attribution model of the program version in force when it was given:
--
--   last_touch:    all to the employee who touched it last before the feedback
--   first_touch:   all to the employee who touched it first
--   linear:        an equal share for each employee
--   role_weighted: each employee's share in proportion to the weight of their
--                  role (the highest-weighted role they had on the interaction)
--   time_decay:    in proportion to 0.5 ^ (hours from their last touch to the
--                  feedback / half-life): a touch one half-life earlier counts half
--   named:         feedback naming an employee directly (no interaction) goes to them
--
-- Shares are normalised to sum to 1 and rounded to numeric(9, 6); the rounding
-- remainder goes to the employee with the largest raw share (ties: the latest
-- toucher), so the weights of one response sum to exactly 1.
--
-- Incremental: the table keeps every program's attributions. A build
-- recomputes only the responses that may have changed since the last build of
-- this program (see `affected` below): feedback loaded or replaced since, feedback
-- whose interaction's participants were loaded since (late touches, reassigned
-- tickets), feedback the night reaches that has no row yet, and rows past the
-- night when an earlier night is run again; every response when the program's
-- versions changed. Each recomputed response replaces all its old rows
-- (delete+insert on program and response). A response with nobody to credit
-- keeps a marker row (attribution_model 'none'; 'past_night' for one beyond
-- the night), with no employee: downstream models skip rows without one.
-- `_built_at` is the time of the build that wrote a row: the models downstream
-- recompute the responses written since their own last build. `_night_end` is the
-- night a row was built for: feedback with no row yet is looked for only after the
-- last build's night (through the feedback's time index, not all history).
-- The responses to compute, their feedback and their participants are looked up by index, one
-- response at a time (looked_up), unless the program changed: joined as sets, the planner took a
-- day's 60 thousand responses for 300 thousand and read all feedback and all participants to
-- join them (52 s of an ordinary night at L, 12 GB read; bench/RESULTS.md).

{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['program', 'response_id'],
    on_schema_change='sync_all_columns',
    post_hook=[
        "{{ index_on('response', 'program, response_id') }}",
        "{{ index_on('watermark', 'program, _source_watermark') }}",
        "{{ index_on('program_loaded', 'program, _program_loaded_at') }}",
        "{{ index_on('built', 'program, _built_at') }}",
        "{{ index_on('responded', 'program, responded_at') }}",
        "{{ index_on('past_night', 'program, responded_at', where=\"attribution_model = 'past_night'\") }}",
    ],
) }}

{% set incremental = is_incremental_with(['program', '_night_end']) %}
{#- a night's few changed responses are looked up by index, one by one (looked_up), unless the
    program changed and every response is computed again -#}
{% set look_up = looks_up_changes(incremental) %}

-- The raw tables are read as inlined CTEs (not materialized), so each use is
-- planned with its own filter: the watermark is an index lookup and the new
-- rows are found through the _ingested_at indexes, instead of copying every
-- response and participant first (5.2 s of an empty night at M). The indexes
-- above serve the same purpose on this table (what the last build saw, and
-- the delete of recomputed responses).
with

all_feedback as not materialized (

    select * from {{ ref('stg_raw__feedback_responses') }}

),

all_participants as not materialized (

    select * from {{ ref('stg_raw__interaction_participants') }}

),

-- (a constant: compared with the last build's, it decides whether everything is computed again,
-- and the planner must know which; as a computed row, a third of all feedback was planned for)
program_loaded as not materialized (

    {% call known_row(['loaded_at']) -%}
    select max(loaded_at) as loaded_at
    from {{ ref('stg_program__versions') }}
    where program = '{{ var("program") }}'
    {%- endcall %}

),

{% if incremental %}

-- what the last build of this program had seen (constants in the statement: see known_row)
previous as not materialized (

    {% call known_row(['watermark', 'program_loaded_at', 'night_end']) -%}
    select
        max(_source_watermark) as watermark,
        max(_program_loaded_at) as program_loaded_at,
        -- the night of the last build that wrote rows
        (
            select _night_end from {{ this }} where program = '{{ var("program") }}'
            order by _built_at desc limit 1
        ) as night_end
    from {{ this }}
    where program = '{{ var("program") }}'
    {%- endcall %}

),

affected as (

    select f.response_id
    from all_feedback as f, previous
    where f.ingested_at > coalesce(previous.watermark, '-infinity')

    union

    select f.response_id
    {% if look_up -%}
    from (
        select distinct p.interaction_id
        from all_participants as p, previous
        where p.ingested_at > coalesce(previous.watermark, '-infinity')
    ) as p
    cross join {{ looked_up('all_feedback', 'f', 'f.interaction_id = p.interaction_id', 'f.response_id') }} as f
    {%- else -%}
    from all_feedback as f
    inner join all_participants as p on f.interaction_id = p.interaction_id
    cross join previous
    where p.ingested_at > coalesce(previous.watermark, '-infinity')
    {%- endif %}

    union

    -- feedback the night reaches that has no row yet: loaded since (above), or given after the
    -- night of every build since it was loaded, so after the last build's (only those are read)
    select f.response_id
    from all_feedback as f, previous
    where f.responded_at < {{ night_end() }}
        and f.responded_at >= coalesce(previous.night_end, '-infinity')
        and not exists (
            select 1 from {{ this }} as t
            where t.program = '{{ var("program") }}' and t.response_id = f.response_id
        )

    union

    -- and feedback marked past the night (an earlier night was run) that this night reaches
    select t.response_id
    from {{ this }} as t
    where t.program = '{{ var("program") }}'
        and t.attribution_model = 'past_night'
        and t.responded_at < {{ night_end() }}

    union

    select t.response_id
    from {{ this }} as t
    where t.program = '{{ var("program") }}'
        and t.responded_at >= {{ night_end() }}
        and t.attribution_model is distinct from 'past_night'

    union

    -- everything, when the program changed or this program was never built
    select f.response_id
    from all_feedback as f, previous, program_loaded
    where previous.program_loaded_at is distinct from program_loaded.loaded_at

),

{% endif %}

feedback as (

    {% if look_up -%}
    select f.*
    from affected as a
    cross join {{ looked_up('all_feedback', 'f', 'f.response_id = a.response_id and f.responded_at < ' ~ night_end()) }} as f
    {%- else -%}
    select * from all_feedback
    where responded_at < {{ night_end() }}
    {% if incremental %}
        and response_id in (select response_id from affected)
    {% endif %}
    {%- endif %}

),

versions as (

    select * from {{ ref('stg_program__versions') }}
    where program = '{{ var("program") }}'

),

role_weights as (

    select * from {{ ref('stg_program__role_weights') }}
    where program = '{{ var("program") }}'

),

participants as (

    select * from all_participants

),

feedback_versioned as (

    select
        feedback.*,
        versions.version_id,
        versions.attribution_model,
        versions.half_life_hours
    from feedback
    inner join versions
        on feedback.responded_at::date >= versions.effective_from
        and feedback.responded_at::date < versions.effective_to

),

-- one row per employee who touched the interaction before the feedback
touches as (

    select
        f.response_id,
        f.version_id,
        f.attribution_model,
        f.half_life_hours,
        f.responded_at,
        p.employee_id,
        min(p.touched_at) as first_touched_at,
        max(p.touched_at) as last_touched_at,
        max(rw.role_weight) as role_weight
    from feedback_versioned as f
    {% if look_up -%}
    cross join {{ looked_up('participants', 'p', 'p.interaction_id = f.interaction_id and p.touched_at <= f.responded_at') }} as p
    {%- else -%}
    inner join participants as p
        on f.interaction_id = p.interaction_id
        and p.touched_at <= f.responded_at
    {%- endif %}
    left join role_weights as rw
        on f.version_id = rw.version_id
        and p.participant_role = rw.participant_role
    group by 1, 2, 3, 4, 5, 6

),

ranked as (

    select
        touches.*,
        row_number() over (
            partition by response_id order by last_touched_at desc, employee_id
        ) as last_rank,
        row_number() over (
            partition by response_id order by first_touched_at, employee_id
        ) as first_rank
    from touches

),

raw_shares as (

    select
        response_id,
        version_id,
        employee_id,
        attribution_model,
        last_touched_at,
        case attribution_model
            when 'last_touch' then case when last_rank = 1 then 1 else 0 end
            when 'first_touch' then case when first_rank = 1 then 1 else 0 end
            when 'linear' then 1
            when 'role_weighted' then coalesce(role_weight, 0)
            when 'time_decay' then power(
                0.5::numeric,
                (extract(epoch from responded_at - last_touched_at) / 3600.0 / half_life_hours)::numeric
            )
        end::numeric as raw_share
    from ranked

),

normalised as (

    select
        raw_shares.*,
        round(raw_share / nullif(sum(raw_share) over (partition by response_id), 0), 6) as share,
        row_number() over (
            partition by response_id order by raw_share desc, last_touched_at desc, employee_id
        ) as share_rank
    from raw_shares

),

balanced as (

    select
        response_id,
        version_id,
        employee_id,
        attribution_model,
        (share + case
            when share_rank = 1 then 1 - sum(share) over (partition by response_id)
            else 0
        end)::numeric(9, 6) as attribution_weight
    from normalised
    where share is not null

),

named as (

    select
        response_id,
        version_id,
        named_employee_id as employee_id,
        'named' as attribution_model,
        1::numeric(9, 6) as attribution_weight
    from feedback_versioned
    where interaction_id is null and named_employee_id is not null

),

attributed as (

    select * from balanced where attribution_weight > 0
    union all
    select * from named

),

watermark as (

    select greatest(
        (select max(ingested_at) from all_feedback),
        (select max(ingested_at) from all_participants)
    ) as source_watermark

)

select
    '{{ var("program") }}'::text as program,
    f.response_id,
    attributed.employee_id,
    attributed.version_id,
    coalesce(attributed.attribution_model, 'none') as attribution_model,
    attributed.attribution_weight,
    f.feedback_kind,
    f.score,
    f.channel,
    f.comment,
    f.interaction_id,
    f.responded_at,
    watermark.source_watermark as _source_watermark,
    program_loaded.loaded_at as _program_loaded_at,
    {{ night_end() }} as _night_end,
    now() as _built_at
from feedback as f
-- every recomputed response keeps a row: one with no employee ('none') marks "nobody to credit"
left join attributed on f.response_id = attributed.response_id
cross join watermark
cross join program_loaded
{% if incremental %}

union all

-- responses past the night (an earlier night run again): marked, so their old rows go
-- (the weight's type is spelled out: a bare null would make the union's column plain numeric, and
-- on_schema_change would rewrite the whole column in the first incremental build after a full
-- one: 3.7 s at M)
select
    '{{ var("program") }}'::text, t.response_id, null, null, 'past_night', null::numeric(9, 6), t.feedback_kind, t.score,
    t.channel, t.comment, t.interaction_id, t.responded_at, watermark.source_watermark, program_loaded.loaded_at,
    {{ night_end() }}, now()
from (
    select distinct on (response_id) * from {{ this }}
    where program = '{{ var("program") }}' and responded_at >= {{ night_end() }}
        and attribution_model is distinct from 'past_night'
    order by response_id
) as t
cross join watermark
cross join program_loaded
{% endif %}
