-- Points earned by each eligible employee for each credited piece of
-- feedback (and comment-named bonus) and each nomination, under the program version in force at the
-- time: rule points × attribution weight × the product of the multipliers
-- that apply (by day and channel), rounded to 2 decimals. Eligibility uses the employee's version valid when the feedback was
-- given (raw.employee_history): their role then is covered by the program,
-- they were hired and not yet terminated.
--
-- Incremental by source (program, source kind, source id): a build computes again
-- the feedback credited since this model's last build of the program, and the
-- feedback credited to employees loaded or changed since (their eligibility then);
-- the nominations loaded since, those of employees loaded or changed since, those
-- given between the last build's night and this one's, and every one when the program
-- was loaded since (only those whose points changed are written). A source
-- computed again replaces its rows (delete+insert); one that earns nothing now gets a
-- marker row (no employee). `_built_at` is when a source's rows were last written: the
-- caps after it look again at the periods written since.
-- int_points_computed is this table for the night's program, without markers.

{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['program', 'source_kind', 'source_id'],
    on_schema_change='sync_all_columns',
    post_hook=[
        "{{ index_on('source', 'program, source_kind, source_id') }}",
        "{{ index_on('built', 'program, _built_at') }}",
        "{{ index_on('effective', 'program, effective_at') }}",
    ],
) }}

{#- standalone queries, read before the statement (watermark_ctes' `known`): "the program was loaded
    since" is then a constant, and the nominations are not all computed again to find none changed
    (every night before: 0.3 s at M, 2.1 s at L of a night with nothing new) -#}
{% set marks = {
    'credits_built_at': 'select max(_built_at) from ' ~ ref('int_feedback_credits')
        ~ " where program = '" ~ var('program') ~ "'",
    'employees_ingested_at': 'select max(ingested_at) from ' ~ ref('stg_raw__employees'),
    'nominations_ingested_at': 'select max(ingested_at) from ' ~ ref('stg_raw__nominations'),
    'program_loaded_at': 'select max(loaded_at) from ' ~ ref('stg_program__versions')
        ~ " where program = '" ~ var('program') ~ "'",
    'night_end': 'select ' ~ night_end(),
} %}
{% set incremental = is_incremental_over(marks) %}
{% set earned_columns = 'entry_kind, source_kind, source_id, employee_id, version_id, rule_id, attribution_weight,'
    ~ ' rule_points, multiplier, points, channel, feedback_kind, score, effective_at' %}
{% set earned_columns_of_e = 'e.' ~ (earned_columns.split(', ') | join(', e.')) %}

with

credits as not materialized (

    select * from {{ ref('int_feedback_credits') }}
    where program = '{{ var("program") }}'

),

employees as not materialized (

    select * from {{ ref('stg_raw__employees') }}

),

{{ watermark_ctes(marks, incremental, from_latest_row=true, known=true) }}

{% if incremental %}

changed_feedback as (

    -- (previous is constants: the bounds are known when the plan is made, and read through the indexes)
    select c.response_id
    from credits as c, previous
    where c._built_at > coalesce(previous.credits_built_at, '-infinity')

    union

    select c.response_id
    from credits as c
    inner join employees as e on c.employee_id = e.employee_id
    cross join previous
    where e.ingested_at > coalesce(previous.employees_ingested_at, '-infinity')

),

changed_nominations as (

    -- every nomination when the program was loaded since (both marks are constants: false folds away)
    select n.nomination_id
    from {{ ref('stg_raw__nominations') }} as n, previous, this_build
    where previous.program_loaded_at is distinct from this_build.program_loaded_at

    union

    select n.nomination_id
    from {{ ref('stg_raw__nominations') }} as n, previous
    where n.ingested_at > coalesce(previous.nominations_ingested_at, '-infinity')

    union

    select n.nomination_id
    from {{ ref('stg_raw__nominations') }} as n
    inner join employees as e on n.nominee_employee_id = e.employee_id
    cross join previous
    where e.ingested_at > coalesce(previous.employees_ingested_at, '-infinity')

    union

    -- given between the last build's night and this one's (either way: a night run again earlier)
    select n.nomination_id
    from {{ ref('stg_raw__nominations') }} as n, previous
    where n.nominated_at >= least(previous.night_end, {{ night_end() }})
        and n.nominated_at < greatest(previous.night_end, {{ night_end() }})

),

{% endif %}

attributed as (

    select c.* from credits as c
    {% if incremental %}
        -- (joins, not `in`: the planner then sees how many there are, a day's or every one)
        inner join changed_feedback as ch on c.response_id = ch.response_id
    {% endif %}
    where c.employee_id is not null

),

nominations as (

    select n.* from {{ ref('stg_raw__nominations') }} as n
    {% if incremental %}
        inner join changed_nominations as ch on n.nomination_id = ch.nomination_id
    {% endif %}
    where n.nominated_at < {{ night_end() }}

),

versions as (

    select * from {{ ref('stg_program__versions') }}
    where program = '{{ var("program") }}'

),

rules as (

    select * from {{ ref('stg_program__point_rules') }}
    where program = '{{ var("program") }}'

),

multipliers as (

    select * from {{ ref('stg_program__multipliers') }}
    where program = '{{ var("program") }}'

),

eligibility as (

    select * from {{ ref('stg_program__eligibility') }}
    where program = '{{ var("program") }}'

),

employee_versions as (

    select * from {{ ref('stg_raw__employee_history') }}

),

feedback_points as (

    select
        case a.credit_kind when 'comment_named' then 'comment_named_bonus' else 'feedback_points' end as entry_kind,
        'feedback' as source_kind,
        a.response_id as source_id,
        a.employee_id,
        a.version_id,
        r.rule_id,
        a.attribution_weight,
        r.points as rule_points,
        a.channel,
        a.feedback_kind,
        a.score,
        a.responded_at as effective_at
    from attributed as a
    inner join rules as r
        on a.version_id = r.version_id
        and (
            (
                a.credit_kind = 'attributed'
                and a.feedback_kind = r.feedback_kind
                and a.score between r.score_min and r.score_max
            )
            or (
                -- the bonus for being named, when the feedback itself earns points
                a.credit_kind = 'comment_named'
                and r.feedback_kind = 'comment_named'
                and exists (
                    select 1 from rules as band
                    where band.version_id = a.version_id
                        and band.feedback_kind = a.feedback_kind
                        and a.score between band.score_min and band.score_max
                        and band.points > 0
                )
            )
        )

),

nomination_points as (

    select
        'nomination_points' as entry_kind,
        'nomination' as source_kind,
        n.nomination_id as source_id,
        n.nominee_employee_id as employee_id,
        v.version_id,
        r.rule_id,
        1::numeric(9, 6) as attribution_weight,
        r.points as rule_points,
        n.channel,
        'nomination' as feedback_kind,
        null::integer as score,
        n.nominated_at as effective_at
    from nominations as n
    inner join versions as v
        on n.nominated_at::date >= v.effective_from
        and n.nominated_at::date < v.effective_to
    inner join rules as r
        on v.version_id = r.version_id
        and r.feedback_kind = 'nomination'

),

unioned as (

    select * from feedback_points
    union all
    select * from nomination_points

),

-- several multipliers that apply multiply together (a product, as exp of a sum of logs)
all_points as (

    select
        u.*,
        coalesce(round(exp(sum(ln(m.factor))), 4), 1)::numeric(8, 4) as multiplier,
        round(u.rule_points * u.attribution_weight * coalesce(exp(sum(ln(m.factor))), 1), 2) as points
    from unioned as u
    left join multipliers as m
        on u.version_id = m.version_id
        and (m.channel = '*' or m.channel = u.channel)
        and (m.valid_from is null or u.effective_at::date >= m.valid_from)
        and (m.valid_to is null or u.effective_at::date <= m.valid_to)
    group by u.entry_kind, u.source_kind, u.source_id, u.employee_id, u.version_id, u.rule_id,
        u.attribution_weight, u.rule_points, u.channel, u.feedback_kind, u.score, u.effective_at

),

earned as (

    select
        p.entry_kind,
        p.source_kind,
        p.source_id,
        p.employee_id,
        p.version_id,
        p.rule_id,
        p.attribution_weight,
        p.rule_points,
        p.multiplier,
        p.points,
        p.channel,
        p.feedback_kind,
        p.score,
        p.effective_at
    from all_points as p
    inner join versions as v on p.version_id = v.version_id
    -- the employee as they were when the feedback was given
    inner join employee_versions as e
        on p.employee_id = e.employee_id
        and p.effective_at >= e.valid_from
        and p.effective_at < e.valid_to
    where
        {{ covered_by_program('eligibility', 'e', 'p.version_id', 'p.effective_at') }}
        -- no negative points unless the program turns them on
        and (p.points > 0 or (p.points < 0 and v.negative_points))

),

written as (

    {% if incremental %}
        select * from earned where source_kind = 'feedback'
        union all
        -- a nomination computed again whose rows are as stored is not written
        -- again (so the build time of a row says when its points last changed). Compared row by row
        -- through the source index: a join or set operation over the CTEs was planned as a loop over
        -- every response once all feedback was computed (483 s at M)
        select {{ earned_columns }} from (
            select n.*, bool_or(n.changed) over (partition by n.source_id) as source_changed
            from (
                select
                    e.*,
                    not exists (
                        select 1 from {{ this }} as t
                        where t.program = '{{ var("program") }}' and t.source_kind = 'nomination'
                            and t.source_id = e.source_id
                            and ({{ earned_columns }}) is not distinct from ({{ earned_columns_of_e }})
                    )
                    or (
                        select count(*) from {{ this }} as t
                        where t.program = '{{ var("program") }}' and t.source_kind = 'nomination'
                            and t.source_id = e.source_id and t.employee_id is not null
                    ) <> count(*) over (partition by e.source_id) as changed
                from earned as e
                where e.source_kind = 'nomination'
            ) as n
        ) as w
        where source_changed
    {% else %}
        select * from earned
    {% endif %}

)

select
    '{{ var("program") }}'::text as program,
    written.*,
    {{ watermark_columns(marks) }},
    now() as _built_at
from written
cross join this_build
{% if incremental %}

union all

-- a source computed again that earns nothing now: a marker replaces its rows (the types with a
-- modifier spelled out, so that sync_all_columns never rewrites a column)
select
    '{{ var("program") }}'::text, null, t.source_kind, t.source_id, null, null, null, null::numeric(9, 6),
    null::numeric(12, 2), null::numeric(8, 4), null, null, null, null, t.effective_at,
    {{ watermark_columns(marks) }}, now()
from (
    select prev.source_kind, prev.source_id, max(prev.effective_at) as effective_at
    from {{ this }} as prev
    inner join (
        select p.source_kind, p.source_id from {{ this }} as p
        inner join changed_feedback as ch on p.source_id = ch.response_id
        where p.program = '{{ var("program") }}' and p.employee_id is not null and p.source_kind = 'feedback'
        union all
        select p.source_kind, p.source_id from {{ this }} as p
        inner join changed_nominations as ch on p.source_id = ch.nomination_id
        where p.program = '{{ var("program") }}' and p.employee_id is not null and p.source_kind = 'nomination'
        except
        select source_kind, source_id from earned
    ) as gone on prev.source_kind = gone.source_kind and prev.source_id = gone.source_id
    where prev.program = '{{ var("program") }}'
    group by prev.source_kind, prev.source_id
) as t
cross join this_build
{% endif %}
