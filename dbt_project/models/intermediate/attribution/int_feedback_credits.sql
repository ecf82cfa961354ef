-- Attributed feedback after the program's rule for comments that name an
-- employee (`attribution.comment_names`):
--
--   off:    the attribution model's shares, unchanged
--   credit: a comment naming exactly one employee gives that employee the whole
--           feedback (weight 1) instead of the model's shares
--   bonus:  the model's shares stand, and the named employee also gets a
--           `comment_named` row (weight 1), scored by the comment_named rule
--           when the feedback itself is in a band that earns points
--
-- Who can be named: first the employees who touched the interaction before the
-- feedback; if none of them is named, the members of their teams (as of the
-- feedback). The first names a comment contains come from
-- int_feedback_comment_names (words, not a regular expression per candidate). A full name (case-insensitive, as a whole word) names its
-- employee; a first name names someone only when a single candidate has it. A
-- comment that names several employees names nobody (ambiguous).

--
-- Incremental by response, like attribution: a build recomputes the responses that
-- attribution or int_feedback_comment_names wrote since this model's last build of the
-- program, and, when employees were loaded or changed since (new, or whose name or team
-- changed), the named responses they can change: those whose comment contains a changed
-- employee's first name (any name they had) or with a changed employee among the
-- participants. Every response when the program was never built here. A recomputed
-- response replaces its old rows; one that earns nobody now (past the night, nobody to
-- credit) gets a marker row with no employee. int_feedback_credited is this table for
-- the night's program, without markers.
-- The changed responses' names and participants are looked up by index (looked_up), unless the
-- program changed: joined as sets, a day's 13 thousand named responses were hashed against all
-- participants (38 M rows, 6.4 GB read; credits took 20 to 27 s of an ordinary night at L).
-- Each credit carries its interaction's queue (the fairness baselines' group): a response is
-- computed again when its interaction was loaded since with another queue than its credits have.
-- (Fairness looked up the queue of each of the open month's credits every night: at L on Nov 14,
-- 726 thousand index reads; its statement 9.3 to 9.7 s cold, 4.3 s reading the queue here.)

{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['program', 'response_id'],
    on_schema_change='sync_all_columns',
    post_hook=[
        "{{ index_on('response', 'program, response_id') }}",
        "{{ index_on('built', 'program, _built_at') }}",
        "{{ index_on('responded', 'program, responded_at') }}",
    ],
) }}

{% set marks = {
    'attributed_built_at': 'select max(_built_at) from attributed_all',
    'names_built_at': 'select max(_built_at) from comment_names_all',
    'employees_ingested_at': 'select max(ingested_at) from employees',
    'interactions_ingested_at': 'select max(ingested_at) from interactions',
} %}
{% set incremental = is_incremental_over(marks) %}
{#- the changed responses' names and participants are looked up by index, one by one (looked_up),
    unless the program changed (attribution then wrote every response again) -#}
{% set look_up = looks_up_changes(incremental) %}

with

attributed_all as not materialized (

    select * from {{ ref('int_feedback_attributed') }}
    where program = '{{ var("program") }}'

),

comment_names_all as not materialized (

    select * from {{ ref('int_feedback_comment_names') }}
    where program = '{{ var("program") }}'

),

versions as (

    select * from {{ ref('stg_program__versions') }}
    where program = '{{ var("program") }}'

),

-- (inlined: each use is planned with its own join, instead of all 3.7 M participants at M copied first)
participants as not materialized (

    select * from {{ ref('stg_raw__interaction_participants') }}

),

employees as (

    select * from {{ ref('stg_raw__employees') }}

),

interactions as not materialized (

    select * from {{ ref('stg_raw__interactions') }}

),

all_feedback as not materialized (

    select * from {{ ref('stg_raw__feedback_responses') }}

),

employee_versions as (

    select * from {{ ref('stg_raw__employee_history') }}

),

{{ watermark_ctes(marks, incremental, from_latest_row=true) }}

{% if incremental %}

-- employees loaded or changed since whose name or team can have changed: new ones (a single version),
-- and those whose versions differ in name or team (a change of manager, role or address alone, or a
-- reload of the same row, credits nobody else)
changed_employees as (

    -- (the load time first: the versions are compared only for the employees loaded since)
    select e.employee_id, lower(e.first_name) as name_key
    from employees as e, previous
    where e.ingested_at > coalesce(previous.employees_ingested_at, '-infinity')
        and (
            select count(*) filter (where h.is_version) <= 1 or count(distinct (h.full_name, h.team)) > 1
            from (
                select true as is_version, v.full_name, v.team
                from employee_versions as v
                where v.employee_id = e.employee_id
                union all
                select false, e.full_name, e.team
            ) as h
        )

),

changed_names as (

    select name_key from changed_employees
    union
    -- the first names they had before
    select lower(h.first_name)
    from employee_versions as h
    where h.employee_id in (select employee_id from changed_employees)

),

changed as (

    -- everything when this program has no rows here yet
    select a.response_id
    from attributed_all as a, previous
    where previous.attributed_built_at is null

    union

    select a.response_id
    from attributed_all as a, previous
    where a._built_at > coalesce(previous.attributed_built_at, '-infinity')

    union

    -- (a program that never found a name has none: then every name row is new)
    select cn.response_id
    from comment_names_all as cn, previous
    where cn._built_at > coalesce(previous.names_built_at, '-infinity')

    union

    select cn.response_id
    from comment_names_all as cn
    where cn.name_key in (select name_key from changed_names)

    union

    select cn.response_id
    from comment_names_all as cn
    inner join attributed_all as a on cn.response_id = a.response_id
    inner join participants as p on a.interaction_id = p.interaction_id
    where cn.name_key is not null
        and p.employee_id in (select employee_id from changed_employees)

    union

    -- credits whose interaction was loaded since with another queue (a reload that keeps the queue,
    -- or a new interaction's feedback, which is new itself, changes nothing here)
    select f.response_id
    from interactions as i
    cross join previous
    {% if look_up -%}
    cross join {{ looked_up('all_feedback', 'f', 'f.interaction_id = i.interaction_id', 'f.response_id') }} as f
    cross join {{ looked_up(this, 'c', program_is('c') ~ ' and c.response_id = f.response_id and c.employee_id is not null',
        'c.queue') }} as c
    {%- else -%}
    inner join all_feedback as f on i.interaction_id = f.interaction_id
    inner join {{ this }} as c on f.response_id = c.response_id and {{ program_is('c') }} and c.employee_id is not null
    {%- endif %}
    where i.ingested_at > coalesce(previous.interactions_ingested_at, '-infinity')
        and c.queue is distinct from i.queue

),

{% endif %}

attributed as (

    -- rows without an employee only mark "nobody to credit"
    {% if look_up -%}
    select a.*
    from changed as ch
    cross join {{ looked_up('attributed_all', 'a', 'a.response_id = ch.response_id and a.employee_id is not null') }} as a
    {%- else -%}
    select a.* from attributed_all as a
    {% if incremental %}
        -- (joins, not `in`: the planner then sees how many there are, a day's or every one)
        inner join changed as ch on a.response_id = ch.response_id
    {% endif %}
    where a.employee_id is not null
    {%- endif %}

),

-- (response, lower-cased first name) for each employee first name a comment contains; which
-- feedback is looked at for names (a version whose comment_names is not off) is decided there
comment_names as (

    {% if look_up -%}
    select cn.response_id, cn.name_key
    from changed as ch
    cross join {{ looked_up('comment_names_all', 'cn', 'cn.response_id = ch.response_id and cn.name_key is not null',
        'cn.response_id, cn.name_key') }} as cn
    {%- else -%}
    select cn.response_id, cn.name_key from comment_names_all as cn
    {% if incremental %}
        inner join changed as ch on cn.response_id = ch.response_id
    {% endif %}
    where cn.name_key is not null
    {%- endif %}

),

-- feedback whose comment contains an employee's first name
commented as (

    select distinct
        a.response_id,
        a.version_id,
        v.comment_names,
        a.interaction_id,
        a.comment,
        a.responded_at
    from attributed as a
    inner join versions as v on a.version_id = v.version_id
    where a.response_id in (select response_id from comment_names)

),

participant_candidates as (

    select distinct
        c.response_id,
        p.employee_id,
        c.responded_at
    from commented as c
    {% if look_up -%}
    cross join {{ looked_up('participants', 'p', 'p.interaction_id = c.interaction_id and p.touched_at <= c.responded_at') }} as p
    {%- else -%}
    inner join participants as p
        on c.interaction_id = p.interaction_id
        and p.touched_at <= c.responded_at
    {%- endif %}

),

named_participants as (

    select
        pc.response_id,
        pc.employee_id,
        1 as candidate_circle
    from participant_candidates as pc
    inner join employees as e on pc.employee_id = e.employee_id
    inner join comment_names as cn
        on pc.response_id = cn.response_id
        and lower(e.first_name) = cn.name_key

),

-- the team each participant was in when the feedback was given
participant_teams as (

    select distinct
        pc.response_id,
        pc.employee_id as participant_id,
        ev.team,
        pc.responded_at
    from participant_candidates as pc
    inner join employee_versions as ev
        on pc.employee_id = ev.employee_id
        and pc.responded_at >= ev.valid_from and pc.responded_at < ev.valid_to

),

team_members as (

    select
        ev.employee_id,
        ev.team,
        ev.valid_from,
        ev.valid_to,
        lower(e.first_name) as name_key
    from employee_versions as ev
    inner join employees as e on ev.employee_id = e.employee_id

),

-- team-mates of a participant whose first name the comment contains
named_team_mates as (

    select distinct
        pt.response_id,
        mate.employee_id,
        2 as candidate_circle
    from participant_teams as pt
    inner join comment_names as cn on pt.response_id = cn.response_id
    inner join team_members as mate
        on pt.team = mate.team
        and cn.name_key = mate.name_key
        and pt.responded_at >= mate.valid_from and pt.responded_at < mate.valid_to
        and mate.employee_id <> pt.participant_id

),

-- whether each candidate's full name is in the comment, tested in the order of the full names:
-- PostgreSQL keeps 32 compiled regular expressions, so in that order each employee's pattern is
-- compiled once, where in the order of the responses it was compiled again for nearly every row
-- (6.4 of the 14 s this model took at M). Materialized, so the test is not put off until the
-- responses are sorted for the count below.
full_name_tests as materialized (

    select
        response_id,
        employee_id,
        candidate_circle,
        comment ~ {{ whole_word_pattern('full_name') }} as full_name_named
    from (
        select cand.response_id, cand.employee_id, cand.candidate_circle, c.comment, e.full_name
        from (
            select * from named_participants
            union all
            select * from named_team_mates
        ) as cand
        inner join commented as c on cand.response_id = c.response_id
        inner join employees as e on cand.employee_id = e.employee_id
        order by e.full_name
        offset 0
    ) as in_name_order

),

matches as (

    -- every candidate here has their first name in the comment; count them per circle
    select
        response_id,
        employee_id,
        candidate_circle,
        full_name_named,
        count(*) over (partition by response_id, candidate_circle) as first_name_hits
    from full_name_tests

),

named_in_circle as (

    select
        response_id,
        employee_id,
        candidate_circle,
        min(candidate_circle) over (partition by response_id) as closest_circle
    from matches
    where full_name_named or first_name_hits = 1

),

-- exactly one employee named in the closest circle that names anyone
named as (

    select
        response_id,
        min(employee_id) as employee_id
    from named_in_circle
    where candidate_circle = closest_circle
    group by response_id
    having count(distinct employee_id) = 1

),

feedback as (

    select f.*, i.queue
    from (
        select distinct on (response_id)
            response_id, version_id, feedback_kind, score, channel, comment, interaction_id, responded_at
        from attributed
        order by response_id
    ) as f
    {% if look_up -%}
    left join {{ looked_up('interactions', 'i', 'i.interaction_id = f.interaction_id', 'i.queue') }} as i on true
    {%- else -%}
    left join interactions as i on f.interaction_id = i.interaction_id
    {%- endif %}

),

credited as (

    -- the model's shares, unless a `credit` version hands the feedback to the named employee
    select
        a.response_id,
        a.employee_id,
        a.version_id,
        a.attribution_model,
        a.attribution_weight,
        'attributed' as credit_kind
    from attributed as a
    left join named as n on a.response_id = n.response_id
    left join commented as c on a.response_id = c.response_id
    where n.response_id is null or c.comment_names <> 'credit'

    union all

    select
        n.response_id,
        n.employee_id,
        c.version_id,
        'comment_named' as attribution_model,
        1::numeric(9, 6) as attribution_weight,
        case c.comment_names when 'credit' then 'attributed' else 'comment_named' end as credit_kind
    from named as n
    inner join commented as c on n.response_id = c.response_id

)

select
    '{{ var("program") }}'::text as program,
    cr.response_id,
    cr.employee_id,
    cr.version_id,
    cr.credit_kind,
    cr.attribution_model,
    cr.attribution_weight::numeric(9, 6) as attribution_weight,
    f.feedback_kind,
    f.score,
    f.channel,
    f.comment,
    f.interaction_id,
    f.queue,
    f.responded_at,
    {{ watermark_columns(marks) }},
    now() as _built_at
from credited as cr
inner join feedback as f on cr.response_id = f.response_id
cross join this_build
{% if incremental %}

union all

-- a recomputed response that was credited before and earns nobody now: a marker replaces its rows
-- (the weight's type spelled out: as a bare null, sync_all_columns would rewrite the column, and
-- drop the view int_feedback_credited with it)
select
    '{{ var("program") }}'::text, t.response_id, null, null, null, null, null::numeric(9, 6), null, null, null, null,
    null, null, t.responded_at, {{ watermark_columns(marks) }},
    now()
from (
    -- (a marker keeps the time of the feedback: the models by period look at that period again)
    select gone.response_id, max(prev.responded_at) as responded_at
    from (
        {% if look_up -%}
        select p.response_id
        from changed as ch
        cross join {{ looked_up(this, 'p', program_is('p') ~ ' and p.response_id = ch.response_id and p.employee_id is not null',
            'p.response_id') }} as p
        {%- else -%}
        select p.response_id from {{ this }} as p
        inner join changed as ch on p.response_id = ch.response_id
        where {{ program_is('p') }} and p.employee_id is not null
        {%- endif %}
        except
        select response_id from attributed
    ) as gone
    {% if look_up -%}
    cross join {{ looked_up(this, 'prev', program_is('prev') ~ ' and prev.response_id = gone.response_id',
        'prev.responded_at') }} as prev
    {%- else -%}
    inner join {{ this }} as prev on prev.response_id = gone.response_id and {{ program_is('prev') }}
    {%- endif %}
    group by gone.response_id
) as t
cross join this_build
{% endif %}
