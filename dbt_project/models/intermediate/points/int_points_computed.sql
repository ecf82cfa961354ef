-- Points earned by each eligible employee for each credited piece of
-- feedback (and comment-named bonus) and each nomination, under the program version in force at the
-- time: rule points × attribution weight × the product of the multipliers
-- that apply (by day and channel), rounded to 2 decimals. Eligibility uses the employee's version valid when the feedback was
-- given (raw.employee_history): their role then is covered by the program,
-- they were hired and not yet terminated.

with

attributed as (

    select * from {{ ref('int_feedback_credited') }}

),

nominations as (

    select * from {{ ref('stg_raw__nominations') }}
    where nominated_at < {{ night_end() }}

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

)

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
