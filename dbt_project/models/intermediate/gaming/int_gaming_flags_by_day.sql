-- Feedback that looks like gaming, held (it earns no points) until someone
-- clears it (`plaudit flags clear`). One row per credited employee and response:
--
--   own_address        the customer's address is the employee's own (keyed hashes)
--   colleague_address  the customer's address is another employee's (a company address)
--   repeat_rater       the same customer (address, else customer id) rated the same
--                      employee more than `gaming.repeat_rater.max_ratings` times within
--                      `days` days: every rating past the limit is held
--   quick_reassignment the employee's first touch came within
--                      `gaming.reassigned_within_minutes` minutes before the rating
--   nomination_burst   more than `gaming.nomination_burst.max_nominations` nominations
--                      of one employee from customers sharing an email domain (keyed
--                      hash) within `days` days: every nomination past the limit is held
--
-- Thresholds are those of the version in force at the feedback.
--
-- Incremental by day (program, source kind, day of the feedback or nomination): a
-- build computes again the feedback days that can have changed since this model's
-- last build of the program, and every nomination (few; a nomination day is written only when its
-- flags differ from the stored ones). A feedback day changes when
-- ratings were written for it since (int_gaming_ratings: new, recomputed or withdrawn
-- feedback, or an interaction loaded or changed since: its customer), or when an
-- employee loaded or changed since has the customer's address (or had it: the days of
-- their address flags). A repeat rating counts the ratings before it, so the days up
-- to the longest repeat window after a changed day are computed again too, reading
-- that window before them. A day computed again replaces its rows (delete+insert);
-- a marker row (no flag) stands for it, so a day left with no flag replaces its old
-- ones. int_gaming_flags is this table for the night's program, without markers;
-- `_built_at` says when a day was last computed (the caps look at its period again).

{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['program', 'source_kind', 'flag_day'],
    on_schema_change='sync_all_columns',
    post_hook=[
        "{{ index_on('day', 'program, source_kind, flag_day') }}",
        "{{ index_on('built', 'program, _built_at') }}",
    ],
) }}

{% set marks = {
    'ratings_built_at': 'select max(_built_at) from ratings',
    'employees_ingested_at': 'select max(ingested_at) from all_employees',
} %}
{% set incremental = is_incremental_over(marks) %}
{#- the interactions of the days written are looked up by index, one by one (looked_up), and the
    ratings of the days written read apart from those before them, unless the program changed
    (every day is computed again) -#}
{% set look_up = looks_up_changes(incremental) %}

{#- the inputs, and the days changed since the last build: also read on their own first (read_span) -#}
{% set inputs %}
-- the credits, each with its customer (int_gaming_ratings: there, not here, the feedback and the
-- interaction of each are looked up)
ratings as not materialized (

    select * from {{ ref('int_gaming_ratings') }}
    where program = '{{ var("program") }}'

),

participants as not materialized (

    select * from {{ ref('stg_raw__interaction_participants') }}

),

all_employees as not materialized (

    select * from {{ ref('stg_raw__employees') }}

),

employees as (

    select * from all_employees
    where email_hash is not null

),

versions as (

    select
        version_id,
        gaming_repeat_max as repeat_max,
        gaming_repeat_days as repeat_days,
        gaming_reassign_minutes as reassign_minutes,
        gaming_burst_max as burst_max,
        gaming_burst_days as burst_days,
        effective_from,
        effective_to
    from {{ ref('stg_program__versions') }}
    where program = '{{ var("program") }}'

),

{{ watermark_ctes(marks, incremental) }}

-- the longest repeat window of the program's versions (days)
repeat_window as (

    select coalesce(max(repeat_days), 0) as days from versions where repeat_max is not null

),
{% endset %}
{% set changed_days %}
changed_days as (

    -- (previous is constants, so that the indexes read only what is past the bounds)
    -- (markers too: withdrawn feedback keeps its time)
    -- (a rating is written again when its credit was, or when its interaction was loaded again)
    select {{ day_of('r.responded_at') }} as day
    from ratings as r, previous
    where r._built_at > coalesce(previous.ratings_built_at, '-infinity')

    union

    -- a changed employee has the customer's address now (through the ratings' address index)
    select {{ day_of('r.responded_at') }}
    from ratings as r
    inner join all_employees as e on r.customer_email_hash = e.email_hash
    cross join previous
    where e.ingested_at > coalesce(previous.employees_ingested_at, '-infinity')

    union

    -- or had it: their address flags
    select t.flag_day
    from {{ this }} as t
    inner join all_employees as e on t.address_employee_id = e.employee_id
    cross join previous
    where t.program = '{{ var("program") }}' and e.ingested_at > coalesce(previous.employees_ingested_at, '-infinity')

)
{% endset %}

with

{{ inputs }}

{% if incremental %}

{{ changed_days }},

-- The span of credits the changed days need (the repeat window before the first and after
-- the last), looked up first and written in as constants (known_row): `rated` reads it
-- through the (program, responded_at) index, and with nothing changed (a null span) the
-- planner reads nothing. Before, a night with nothing new joined all credits, feedback and
-- interactions before the days left them out (2.2 s of an empty night at M).
read_span as not materialized (

    {% call known_row(['read_from', 'write_from', 'read_until']) -%}
    with

    {{ inputs }}

    {{ changed_days }}

    select
        ((select min(day) from changed_days) - w.days)::timestamp at time zone 'UTC' as read_from,
        (select min(day) from changed_days)::timestamp at time zone 'UTC' as write_from,
        ((select max(day) from changed_days) + w.days + 1)::timestamp at time zone 'UTC' as read_until
    from repeat_window as w
    {%- endcall %}

),

-- the days whose flags are computed again: a changed day and the repeat window after it
flag_days as (

    select distinct cd.day + g.n as day
    from changed_days as cd
    cross join repeat_window as w
    cross join lateral generate_series(0, w.days) as g (n)
    where cd.day is not null

),

{% if not look_up %}
-- the days read: those, and the repeat window before each
read_days as (

    select distinct fd.day - g.n as day
    from flag_days as fd
    cross join repeat_window as w
    cross join lateral generate_series(0, w.days) as g (n)

),
{% endif %}

{% endif %}

-- the ratings of the days computed again (is_written) and, unless the repeat counts read the window
-- before them on their own (look_up), those of the repeat window before them
rated as (

    select
        r.response_id,
        r.employee_id,
        r.version_id,
        r.responded_at,
        {{ day_of('r.responded_at') }} as flag_day,
        r.interaction_id,
        r.customer_email_hash,
        r.customer_key,
        {% if incremental and not look_up %}
            {{ day_of('r.responded_at') }} in (select day from flag_days) as is_written
        {% else %}
            true as is_written
        {% endif %}
    from ratings as r
    {% if look_up %}
    cross join read_span as rs
    where r.employee_id is not null
        and r.responded_at >= rs.write_from and r.responded_at < rs.read_until
        and {{ day_of('r.responded_at') }} in (select day from flag_days)
    {% elif incremental %}
    -- (on the day, not as time ranges: the planner put the ranges last, and 10 M credits
    -- against 61 ranges was 634 M comparisons, 90 s at L; the span's bounds, constants, read
    -- the days through the (program, responded_at) index)
    inner join read_days as rd on {{ day_of('r.responded_at') }} = rd.day
    cross join read_span as rs
    where r.employee_id is not null
        and r.responded_at >= rs.read_from and r.responded_at < rs.read_until
    {% else %}
    where r.employee_id is not null
    {% endif %}

),

address_flags as (

    select
        r.response_id,
        r.employee_id,
        case when e.employee_id = r.employee_id then 'own_address' else 'colleague_address' end as flag_kind,
        case when e.employee_id = r.employee_id then 'the customer address is the employee''s own'
            else 'the customer address belongs to employee ' || e.employee_id end as detail,
        e.employee_id as address_employee_id,
        r.flag_day
    from rated as r
    inner join employees as e on r.customer_email_hash = e.email_hash
    where r.is_written

),

repeat_counted as (

    -- ratings of the same employee by the same customer in the window up to each one
    select
        r.response_id,
        r.employee_id,
        r.flag_day,
        v.repeat_max,
        v.repeat_days,
        count(*) as ratings_in_window
    from rated as r
    inner join versions as v on r.version_id = v.version_id
    {% if look_up -%}
    -- (the span's ratings, hashed against the pairs of customer and employee of the days written:
    -- at L one day against the 1.6 M ratings of its window, 2.2 s for the model. When `rated` held
    -- the whole window, it was kept in the CTE and its days joined in 64 batches on a bad estimate
    -- of them: 5.4 s)
    inner join (
        select e.customer_key, e.employee_id, e.responded_at, e.response_id
        from ratings as e
        cross join read_span as rs
        where e.responded_at >= rs.read_from and e.responded_at < rs.read_until
    ) as earlier
    {%- else %}
    inner join rated as earlier
    {%- endif %}
        on r.customer_key = earlier.customer_key
        and r.employee_id = earlier.employee_id
        and earlier.responded_at > r.responded_at - make_interval(days => v.repeat_days)
        and (earlier.responded_at, earlier.response_id) <= (r.responded_at, r.response_id)
    where v.repeat_max is not null and r.is_written
    group by r.response_id, r.employee_id, r.flag_day, v.repeat_max, v.repeat_days

),

repeat_flags as (

    select
        response_id,
        employee_id,
        'repeat_rater' as flag_kind,
        'rating ' || ratings_in_window || ' of this employee by the same customer within '
            || repeat_days || ' days (limit ' || repeat_max || ')' as detail,
        null::text as address_employee_id,
        flag_day
    from repeat_counted
    where ratings_in_window > repeat_max

),

-- each employee's first touch of the interactions of the feedback written
first_touches as (

    select w.interaction_id, p.employee_id, min(p.touched_at) as first_touched_at
    from (select distinct interaction_id from rated where is_written) as w
    {% if look_up -%}
    -- (joined as a set, a day's 76 thousand interactions were hashed against all participants:
    -- 38 M rows, 6.4 GB read at L)
    cross join {{ looked_up('participants', 'p', 'p.interaction_id = w.interaction_id', 'p.employee_id, p.touched_at') }} as p
    {%- else -%}
    inner join participants as p on p.interaction_id = w.interaction_id
    {%- endif %}
    group by w.interaction_id, p.employee_id

),

reassign_flags as (

    select
        r.response_id,
        r.employee_id,
        'quick_reassignment' as flag_kind,
        'first touched the interaction ' || round(extract(epoch from r.responded_at - t.first_touched_at) / 60)
            || ' minute(s) before the rating' as detail,
        null::text as address_employee_id,
        r.flag_day
    from rated as r
    inner join versions as v on r.version_id = v.version_id
    inner join first_touches as t on r.interaction_id = t.interaction_id and r.employee_id = t.employee_id
    where r.is_written
        and v.reassign_minutes is not null
        and r.responded_at - t.first_touched_at < (v.reassign_minutes || ' minutes')::interval

),

nominations as (

    select n.nomination_id, n.nominee_employee_id as employee_id, n.nominated_at, n.customer_domain_hash,
        v.burst_max, v.burst_days
    from {{ ref('stg_raw__nominations') }} as n
    inner join versions as v
        on {{ day_of('n.nominated_at') }} >= v.effective_from
        and {{ day_of('n.nominated_at') }} < v.effective_to
    where n.customer_domain_hash is not null and v.burst_max is not null

),

burst_counted as (

    -- nominations of the same employee from the same domain in the window up to each one
    select
        n.nomination_id,
        n.employee_id,
        n.nominated_at,
        n.burst_max,
        n.burst_days,
        count(*) as nominations_in_window
    from nominations as n
    inner join nominations as earlier
        on n.customer_domain_hash = earlier.customer_domain_hash
        and n.employee_id = earlier.employee_id
        and earlier.nominated_at > n.nominated_at - make_interval(days => n.burst_days)
        and (earlier.nominated_at, earlier.nomination_id) <= (n.nominated_at, n.nomination_id)
    group by n.nomination_id, n.employee_id, n.nominated_at, n.burst_max, n.burst_days

),

burst_flags as (

    select
        'nomination' as source_kind,
        nomination_id as response_id,
        employee_id,
        'nomination_burst' as flag_kind,
        'nomination ' || nominations_in_window || ' of this employee from one email domain within '
            || burst_days || ' days (limit ' || burst_max || ')' as detail,
        null::text as address_employee_id,
        {{ day_of('nominated_at') }} as flag_day
    from burst_counted
    where nominations_in_window > burst_max

),

flags as (

    select 'feedback' as source_kind, * from address_flags
    union all
    select 'feedback', * from repeat_flags
    union all
    select 'feedback', * from reassign_flags
    union all
    select * from burst_flags

),

found as (

    select distinct on (flag_id)
        md5(concat_ws('|', '{{ var("program") }}', flag_kind, response_id, employee_id)) as flag_id,
        flag_kind,
        source_kind::text as source_kind,
        response_id as source_id,
        employee_id,
        address_employee_id,
        detail,
        flag_day
    from flags
    order by flag_id

)
{%- if incremental %},

{% set nomination_flag_columns = 'flag_day, flag_id, flag_kind, source_id, employee_id, address_employee_id, detail' %}
-- nominations are all computed again, but only the days whose flags differ from the stored ones are
-- written (a day written makes the caps compute its period again: 4 periods, 7 s of each night at M)
nomination_days as (

    select flag_day from (
        (
            select {{ nomination_flag_columns }}
            from found where source_kind = 'nomination'
            except
            select {{ nomination_flag_columns }}
            from {{ this }}
            where program = '{{ var("program") }}' and source_kind = 'nomination' and flag_id is not null
        )
        union all
        (
            select {{ nomination_flag_columns }}
            from {{ this }}
            where program = '{{ var("program") }}' and source_kind = 'nomination' and flag_id is not null
            except
            select {{ nomination_flag_columns }}
            from found where source_kind = 'nomination'
        )
    ) as differing
    group by flag_day

)
{%- endif %}

select
    '{{ var("program") }}'::text as program,
    fo.*,
    {{ watermark_columns(marks) }},
    now() as _built_at
from found as fo
cross join this_build
{% if incremental %}
where fo.source_kind = 'feedback' or fo.flag_day in (select flag_day from nomination_days)

union all

-- one marker for each day computed again (and each nomination day written), so that a day left with
-- no flag replaces its old ones
select
    '{{ var("program") }}'::text, null, null, m.source_kind, null, null, null, null, m.flag_day,
    {{ watermark_columns(marks) }}, now()
from (
    select 'feedback'::text as source_kind, day as flag_day from flag_days
    union
    select 'nomination', flag_day from nomination_days
) as m
cross join this_build
{% else %}
union all

-- a full build computes every day: a marker for the night's keeps its marks when it found no flag
-- (an empty table has none, and the next build would compute every day again)
select
    '{{ var("program") }}'::text, null, null, 'feedback', null, null, null, null, cast('{{ var("night") }}' as date),
    {{ watermark_columns(marks) }}, now()
from this_build
{% endif %}
