-- The employee first names each comment contains, for feedback under a
-- program version that looks for names (`attribution.comment_names` credit or
-- bonus): one row per (response, first name), the name lower-cased.
--
-- Each comment is split once into its words (runs of letters and digits: the
-- boundary of `whole_word_pattern`) and the words are joined to the first
-- names, instead of testing a regular expression per comment and employee. A
-- first name of several words ("Jean-Luc") is found by its first word and
-- confirmed with the whole-word pattern. A table of its own, analysed when
-- built, so int_feedback_credited is planned on real row counts (at M, the
-- same steps as CTEs were planned on default estimates and did not finish).

with

attributed as (

    select * from {{ ref('int_feedback_attributed') }}
    where program = '{{ var("program") }}' and employee_id is not null

),

versions as (

    select * from {{ ref('stg_program__versions') }}
    where program = '{{ var("program") }}'

),

employees as (

    select * from {{ ref('stg_raw__employees') }}

),

commented as (

    select distinct
        a.response_id,
        a.comment
    from attributed as a
    inner join versions as v on a.version_id = v.version_id
    where v.comment_names <> 'off' and a.comment is not null and a.interaction_id is not null

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

)

select response_id, name_key from one_word_names
union
select response_id, name_key from several_word_names
