-- What the gaming flags count, one row per credit: int_feedback_credits' rows (markers with no
-- employee included) with the customer who gave the feedback. customer_email_hash is the keyed
-- hash of their address (the address flags); customer_key is that hash, else the interaction's
-- customer id (who the repeat-rater rule counts).
--
-- Before this model the gaming flags looked each credit's feedback and interaction up themselves,
-- for every credit of a repeat window around each changed day: on a night with one new day at L,
-- 1.55 M credits were joined to the 10 M feedback rows and interactions to count 60 thousand new
-- ratings (a hash of both tables read whole; 24 to 29 s of the night). Here each credit's customer
-- is looked up once, when the credit is written, and the flags read a narrow table by time.
--
-- Incremental by response: a build writes again the responses whose credits were written since
-- its last build of the program, and those whose interaction was loaded or changed since with
-- another customer than their rows have (a reload that keeps the customer writes nothing). A
-- response's rows replace its old ones (delete+insert), as in int_feedback_credits, which keeps a
-- marker row for a response credited before and not now.
-- The changed responses' credits, feedback and interactions are looked up by index (looked_up),
-- unless the program changed: joined as a set, a day's 100 thousand were hashed against all
-- credits and all feedback (10.8 M rows each; 23 to 46 s of an ordinary night at L).

{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['program', 'response_id'],
    on_schema_change='sync_all_columns',
    post_hook=[
        "{{ index_on('response', 'program, response_id') }}",
        "{{ index_on('built', 'program, _built_at') }}",
        "{{ index_on('responded', 'program, responded_at') }}",
        "{{ index_on('address', 'program, customer_email_hash') }}",
    ],
) }}

{% set marks = {
    'credits_built_at': 'select max(_built_at) from credits',
    'interactions_ingested_at': 'select max(ingested_at) from interactions',
} %}
{% set incremental = is_incremental_over(marks) %}
{#- the changed credits, their feedback and their interaction are looked up by index, one by one
    (looked_up), unless the program changed (every credit was written again) -#}
{% set look_up = looks_up_changes(incremental) %}

with

credits as not materialized (

    select * from {{ ref('int_feedback_credits') }}
    where program = '{{ var("program") }}'

),

feedback as not materialized (

    select * from {{ ref('stg_raw__feedback_responses') }}

),

interactions as not materialized (

    select * from {{ ref('stg_raw__interactions') }}

),

{{ watermark_ctes(marks, incremental, from_latest_row=true) }}

{% if incremental %}

changed as (

    -- (previous is constants, so that the indexes read only what is past the bounds)
    select c.response_id
    from credits as c, previous
    where c._built_at > coalesce(previous.credits_built_at, '-infinity')

    union

    -- the rated feedback of an interaction loaded or changed since whose customer is another now,
    -- interaction by interaction through the feedback's index, then this table's (looked_up): as a
    -- join, the interactions loaded since were estimated at a third of all, and all feedback was
    -- read into a hash
    select f.response_id
    from interactions as i
    cross join {{ looked_up('feedback', 'f', 'f.interaction_id = i.interaction_id', 'f.response_id') }} as f
    cross join {{ looked_up(this, 'r', program_is('r') ~ ' and r.response_id = f.response_id',
        'r.customer_key, r.customer_email_hash') }} as r
    cross join previous
    where i.ingested_at > coalesce(previous.interactions_ingested_at, '-infinity')
        and r.customer_key is distinct from coalesce(r.customer_email_hash, i.customer_id)

),

{% endif %}

rated as (

    select
        c.response_id,
        c.employee_id,
        c.version_id,
        c.interaction_id,
        c.responded_at,
        f.customer_email_hash,
        coalesce(f.customer_email_hash, i.customer_id) as customer_key
    {% if look_up -%}
    from changed as ch
    cross join {{ looked_up('credits', 'c', 'c.response_id = ch.response_id') }} as c
    cross join {{ looked_up('feedback', 'f', 'f.response_id = c.response_id', 'f.customer_email_hash') }} as f
    left join {{ looked_up('interactions', 'i', 'i.interaction_id = c.interaction_id', 'i.customer_id') }} as i on true
    {%- else -%}
    from credits as c
    {% if incremental %}
        -- (a join, not `in`: the planner then sees how many there are, a day's or every one)
        inner join changed as ch on c.response_id = ch.response_id
    {% endif %}
    inner join feedback as f on c.response_id = f.response_id
    left join interactions as i on c.interaction_id = i.interaction_id
    {%- endif %}

)

select
    '{{ var("program") }}'::text as program,
    r.*,
    {{ watermark_columns(marks) }},
    now() as _built_at
from rated as r
cross join this_build
