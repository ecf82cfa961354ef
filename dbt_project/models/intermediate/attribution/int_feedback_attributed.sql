-- Each piece of feedback given before the end of the night, shared among the
-- employees who earned it, under the attribution model of the program version
-- in force when the feedback was given.
--
--   last_touch: the employee who touched the interaction last before the feedback
--   linear:     an equal share for every employee who touched it before the feedback
--   named:      feedback naming an employee directly (no interaction) goes to them
--
-- Weights are numeric(9, 6); the rounding remainder goes to the first-ranked
-- employee, so the weights of one response sum to exactly 1.

with

feedback as (

    select * from {{ ref('stg_raw__feedback_responses') }}
    where responded_at < {{ night_end() }}

),

versions as (

    select * from {{ ref('stg_program__versions') }}
    where program = '{{ var("program") }}'

),

participants as (

    select * from {{ ref('stg_raw__interaction_participants') }}

),

feedback_versioned as (

    select
        feedback.*,
        versions.version_id,
        versions.attribution_model
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
        p.employee_id,
        min(p.touched_at) as first_touched_at,
        max(p.touched_at) as last_touched_at
    from feedback_versioned as f
    inner join participants as p
        on f.interaction_id = p.interaction_id
        and p.touched_at <= f.responded_at
    group by 1, 2, 3, 4

),

ranked as (

    select
        touches.*,
        row_number() over (
            partition by response_id order by last_touched_at desc, employee_id
        ) as touch_rank,
        count(*) over (partition by response_id) as touchers
    from touches

),

weighted as (

    select
        response_id,
        version_id,
        employee_id,
        attribution_model,
        case attribution_model
            when 'last_touch' then case when touch_rank = 1 then 1 else 0 end
            when 'linear' then round(1.0 / touchers, 6)
        end::numeric(9, 6) as raw_weight,
        touch_rank
    from ranked

),

balanced as (

    select
        response_id,
        version_id,
        employee_id,
        attribution_model,
        (raw_weight + case
            when touch_rank = 1 then 1 - sum(raw_weight) over (partition by response_id)
            else 0
        end)::numeric(9, 6) as attribution_weight
    from weighted

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

)

select
    attributed.response_id,
    attributed.employee_id,
    attributed.version_id,
    attributed.attribution_model,
    attributed.attribution_weight,
    f.feedback_kind,
    f.score,
    f.channel,
    f.comment,
    f.interaction_id,
    f.responded_at
from attributed
inner join feedback as f on attributed.response_id = f.response_id
