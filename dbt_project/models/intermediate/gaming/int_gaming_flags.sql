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

with

credited as (

    select * from {{ ref('int_feedback_credited') }}

),

feedback as (

    select * from {{ ref('stg_raw__feedback_responses') }}

),

interactions as (

    select * from {{ ref('stg_raw__interactions') }}

),

participants as (

    select * from {{ ref('stg_raw__interaction_participants') }}

),

employees as (

    select * from {{ ref('stg_raw__employees') }}
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

rated as (

    select
        c.response_id,
        c.employee_id,
        c.version_id,
        c.responded_at,
        c.interaction_id,
        f.customer_email_hash,
        coalesce(f.customer_email_hash, i.customer_id) as customer_key
    from credited as c
    inner join feedback as f on c.response_id = f.response_id
    left join interactions as i on c.interaction_id = i.interaction_id

),

address_flags as (

    select
        r.response_id,
        r.employee_id,
        case when e.employee_id = r.employee_id then 'own_address' else 'colleague_address' end as flag_kind,
        case when e.employee_id = r.employee_id then 'the customer address is the employee''s own'
            else 'the customer address belongs to employee ' || e.employee_id end as detail
    from rated as r
    inner join employees as e on r.customer_email_hash = e.email_hash

),

repeat_counted as (

    -- ratings of the same employee by the same customer in the window up to each one
    select
        r.response_id,
        r.employee_id,
        v.repeat_max,
        v.repeat_days,
        count(*) as ratings_in_window
    from rated as r
    inner join versions as v on r.version_id = v.version_id
    inner join rated as earlier
        on r.customer_key = earlier.customer_key
        and r.employee_id = earlier.employee_id
        and earlier.responded_at > r.responded_at - make_interval(days => v.repeat_days)
        and (earlier.responded_at, earlier.response_id) <= (r.responded_at, r.response_id)
    where v.repeat_max is not null
    group by r.response_id, r.employee_id, v.repeat_max, v.repeat_days

),

repeat_flags as (

    select
        response_id,
        employee_id,
        'repeat_rater' as flag_kind,
        'rating ' || ratings_in_window || ' of this employee by the same customer within '
            || repeat_days || ' days (limit ' || repeat_max || ')' as detail
    from repeat_counted
    where ratings_in_window > repeat_max

),

first_touches as (

    select interaction_id, employee_id, min(touched_at) as first_touched_at
    from participants
    group by interaction_id, employee_id

),

reassign_flags as (

    select
        r.response_id,
        r.employee_id,
        'quick_reassignment' as flag_kind,
        'first touched the interaction ' || round(extract(epoch from r.responded_at - t.first_touched_at) / 60)
            || ' minute(s) before the rating' as detail
    from rated as r
    inner join versions as v on r.version_id = v.version_id
    inner join first_touches as t on r.interaction_id = t.interaction_id and r.employee_id = t.employee_id
    where v.reassign_minutes is not null
        and r.responded_at - t.first_touched_at < (v.reassign_minutes || ' minutes')::interval

),

nominations as (

    select n.nomination_id, n.nominee_employee_id as employee_id, n.nominated_at, n.customer_domain_hash,
        v.burst_max, v.burst_days
    from {{ ref('stg_raw__nominations') }} as n
    inner join versions as v
        on (n.nominated_at at time zone 'UTC')::date >= v.effective_from
        and (n.nominated_at at time zone 'UTC')::date < v.effective_to
    where n.customer_domain_hash is not null and v.burst_max is not null

),

burst_counted as (

    -- nominations of the same employee from the same domain in the window up to each one
    select
        n.nomination_id,
        n.employee_id,
        n.burst_max,
        n.burst_days,
        count(*) as nominations_in_window
    from nominations as n
    inner join nominations as earlier
        on n.customer_domain_hash = earlier.customer_domain_hash
        and n.employee_id = earlier.employee_id
        and earlier.nominated_at > n.nominated_at - make_interval(days => n.burst_days)
        and (earlier.nominated_at, earlier.nomination_id) <= (n.nominated_at, n.nomination_id)
    group by n.nomination_id, n.employee_id, n.burst_max, n.burst_days

),

burst_flags as (

    select
        'nomination' as source_kind,
        nomination_id as response_id,
        employee_id,
        'nomination_burst' as flag_kind,
        'nomination ' || nominations_in_window || ' of this employee from one email domain within '
            || burst_days || ' days (limit ' || burst_max || ')' as detail
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

)

select distinct on (flag_id)
    md5(concat_ws('|', '{{ var("program") }}', flag_kind, response_id, employee_id)) as flag_id,
    '{{ var("program") }}'::text as program,
    flag_kind,
    source_kind::text as source_kind,
    response_id as source_id,
    employee_id,
    detail
from flags
order by flag_id
