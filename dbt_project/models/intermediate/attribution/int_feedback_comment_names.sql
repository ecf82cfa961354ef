-- The employee first names each comment contains, for feedback under a
-- program version that looks for names (`attribution.comment_names` credit or
-- bonus): one row per (response, first name), the name lower-cased.
--
-- Each comment is split once into its words (runs of letters and digits: the
-- boundary of `whole_word_pattern`) and the words are joined to the first
-- names, instead of testing a regular expression per comment and employee. A
-- first name of several words ("Jean-Luc") is found by its first word and
-- confirmed with the whole-word pattern. A table of its own, analysed when
-- built, so int_feedback_credits is planned on real row counts (at M, the
-- same steps as CTEs were planned on default estimates and did not finish).
--
-- Incremental by response, like int_feedback_attributed: a build looks again only at
-- the responses attribution wrote since this model's last build of the program
-- (`_built_at` there), and at every response when the set of first names changed
-- (`_names_hash`), and writes only the responses whose names changed: their rows
-- replace the old ones (delete+insert on program and response); one that named
-- somebody before and names nobody now gets a marker row with no name_key, so its
-- old rows go (int_feedback_credits skips markers and other programs). The last post-hook drops the rows of the table this
-- model was before it kept a program (an index lookup; there are none after that).

{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['program', 'response_id'],
    on_schema_change='sync_all_columns',
    post_hook=[
        "{{ index_on('response', 'program, response_id') }}",
        "{{ index_on('built', 'program, _built_at') }}",
        "delete from {{ this }} where program is null",
    ],
) }}

{#- standalone queries (watermark_ctes' `known`); every row of a build carries that build's marks, so
    the latest row's are the ones to compare -#}
{% set marks = {
    'attributed_built_at': 'select max(_built_at) from ' ~ ref('int_feedback_attributed')
        ~ " where program = '" ~ var('program') ~ "'",
    'names_hash': "select md5(string_agg(first_name, '|' order by first_name)) from (select distinct first_name from "
        ~ ref('stg_raw__employees') ~ " where first_name <> '') as f",
} %}
{% set incremental = is_incremental_over(marks) %}

with

attributed_all as not materialized (

    select * from {{ ref('int_feedback_attributed') }}
    where program = '{{ var("program") }}'

),

versions as (

    select * from {{ ref('stg_program__versions') }}
    where program = '{{ var("program") }}'

),

employees as (

    select * from {{ ref('stg_raw__employees') }}

),

first_names as (

    select distinct
        first_name,
        lower(first_name) as name_key,
        first_name ~ '[^[:alnum:]]' as is_several_words,
        lower(coalesce(substring(first_name from '[[:alnum:]]+'), first_name)) as lead_word
    from employees
    where first_name <> ''

),

-- feedback under a version that looks for names in comments (a program without any costs nothing)
looked_at as not materialized (

    select a.*
    from attributed_all as a
    inner join versions as v on a.version_id = v.version_id
    where v.comment_names <> 'off'

),

-- what this build has seen (attribution up to its latest build, this set of first names) and what
-- the latest build of this program saw (watermark_ctes: `previous`, nulls when never built). Both
-- are read first and written in as constants, so "the names changed" folds to true or false when
-- the plan is made, and when false the looked-at responses are not all read to find none (4.4 s of
-- a night with nothing new at L).
{{ watermark_ctes(marks, incremental, from_latest_row=true, known=true) }}

{% if incremental %}

changed as (

    -- looked-at responses attribution wrote since (all of them when this program has no rows here)
    select a.response_id
    from looked_at as a, previous
    where a._built_at > coalesce(previous.attributed_built_at, '-infinity')

    union

    -- every looked-at response when the set of first names changed
    select a.response_id
    from looked_at as a, previous, this_build
    where previous.names_hash is distinct from this_build.names_hash

    union

    -- responses that named somebody, written since (no longer looked at, or past the night)
    select t.response_id
    from {{ this }} as t
    inner join attributed_all as a on t.response_id = a.response_id
    cross join previous
    where t.program = '{{ var("program") }}' and t.name_key is not null
        and a._built_at > coalesce(previous.attributed_built_at, '-infinity')

),

{% endif %}

commented as (

    select distinct
        a.response_id,
        a.comment
    from looked_at as a
    {% if incremental %}
        -- (joins, not `in`: the planner then sees how many there are, a day's or every one)
        inner join changed as ch on a.response_id = ch.response_id
    {% endif %}
    where a.employee_id is not null and a.comment is not null and a.interaction_id is not null

),

words as (

    select distinct
        c.response_id,
        w.word
    from commented as c
    cross join lateral regexp_split_to_table(lower(c.comment), '[^[:alnum:]]+') as w (word)
    where w.word in (select lead_word from first_names)

),

one_word_names as (

    select
        w.response_id,
        n.name_key
    from words as w
    inner join first_names as n on w.word = n.name_key
    where not n.is_several_words

),

several_word_names as (

    select
        w.response_id,
        n.name_key
    from words as w
    inner join first_names as n on w.word = n.lead_word
    inner join commented as c on w.response_id = c.response_id
    where n.is_several_words and c.comment ~ {{ whole_word_pattern('n.first_name') }}

),

names as (

    select response_id, name_key from one_word_names
    union
    select response_id, name_key from several_word_names

){% if incremental %},

-- the names the responses looked at again had before
previous_names as (

    select prev.response_id, prev.name_key
    from {{ this }} as prev
    inner join changed as ch on prev.response_id = ch.response_id
    where prev.program = '{{ var("program") }}' and prev.name_key is not null

),

-- of those, the responses whose names changed: only they are written, so that credits look again
-- at those alone (a new first name makes every comment be read again, but changes few)
name_changes as (

    select response_id from (select * from names except select * from previous_names) as added
    union
    select response_id from (select * from previous_names except select * from names) as removed

){% endif %}

select
    '{{ var("program") }}'::text as program,
    names.response_id,
    names.name_key,
    {{ watermark_columns(marks) }},
    now() as _built_at
from names
{% if incremental %}
    inner join name_changes as nc on names.response_id = nc.response_id
{% endif %}
cross join this_build
{% if incremental %}

union all

-- a response that named somebody before and names nobody now: a marker replaces its rows
select '{{ var("program") }}'::text, t.response_id, null, {{ watermark_columns(marks) }}, now()
from (select response_id from previous_names except select response_id from names) as t
cross join this_build
{% endif %}
