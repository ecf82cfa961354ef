-- Funding legs of each new award: what B2B accounts co-fund, and the company
-- budget pays the rest, so the legs of an award sum exactly to it.
--
--   account leg = floor(amount × points earned on the account's interactions
--                 (and nominations, at most the award's points) / the award's
--                 points × the account's share),
--                 in the award's minor units: rounded down, the company pays the
--                 remainder; then limited by what is left of the account's
--                 monthly cap, awards taken in the budget's order
--   company leg = amount − the account legs (the account legs of one award,
--                 by account id, stop at the award's amount)
--
-- An account whose co-funding currency differs from the award's pays its leg
-- converted at the latest rate on or before the award date (the period's last
-- day; an instant award's own day): account amount = floor(leg × rate) in the
-- account's minor units. Its monthly cap is in its own currency. A missing rate
-- leaves the leg's rate empty, which fails the build (assert_co_funding_has_rates)
-- so nothing is published. Deferred awards have no legs.

with

awards as (

    select
        *,
        coalesce(
            {{ day_of('instant_at') }},
            (to_date(period || '-01', 'YYYY-MM-DD') + interval '1 month' - interval '1 day')::date
        ) as award_date
    from {{ ref('fct_award_proposals') }}
    where proposed_status <> 'deferred'

),

entries as (

    select * from {{ ref('fct_ledger_entries') }}

),

versions as (

    select * from {{ ref('stg_program__versions') }}
    where program = '{{ var("program") }}'

),

feedback as (

    select * from {{ ref('stg_raw__feedback_responses') }}

),

interactions as (

    select * from {{ ref('stg_raw__interactions') }}

),

nominations as (

    select * from {{ ref('stg_raw__nominations') }}

),

accounts as (

    select * from {{ ref('stg_raw__accounts') }}
    where co_funding_share > 0

),

rates as (

    select * from {{ ref('stg_raw__exchange_rates') }}

),

used as (

    -- what each account already co-funded per period, in its own currency
    select account_id, period, sum(account_amount_minor) as amount_minor
    from {{ ref('stg_plaudit__award_funding') }}
    group by account_id, period

),

-- the account each entry was earned on (bonuses belong to no account)
entry_accounts as (

    select
        e.entry_id,
        e.employee_id,
        e.period,
        {{ is_instant('e.entry_kind', 'v.instant_kinds') }} as is_instant,
        coalesce(i.account_id, n.account_id) as account_id,
        e.points
    from entries as e
    inner join versions as v on e.version_id = v.version_id
    left join feedback as f on e.source_kind = 'feedback' and e.source_id = f.response_id
    left join interactions as i on f.interaction_id = i.interaction_id
    left join nominations as n on e.source_kind = 'nomination' and e.source_id = n.nomination_id

),

account_points as (

    select
        a.award_id,
        a.period,
        a.amount_minor,
        a.currency,
        a.award_date,
        a.budget_order,
        a.instant_at,
        a.points as award_points,
        ac.account_id,
        ac.co_funding_share,
        coalesce(ac.co_funding_currency, a.currency) as account_currency,
        round(ac.co_funding_monthly_cap * 100)::bigint as cap_minor,
        sum(ea.points) as account_points
    from awards as a
    inner join entry_accounts as ea
        on a.employee_id = ea.employee_id
        and (
            (a.source_entry_id is not null and ea.entry_id = a.source_entry_id)
            or (a.source_entry_id is null and ea.period = a.points_period and not ea.is_instant)
        )
    inner join accounts as ac on ea.account_id = ac.account_id
    where a.points > 0
    group by 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12

),

converted as (

    select
        ap.*,
        case when ap.account_currency = ap.currency then 1 else r.rate end as rate,
        case when ap.account_currency = ap.currency then ap.award_date else r.valid_from end as rate_date,
        -- the account's points count at most the award's: an award can pay fewer points than its
        -- entries now hold (an instant award made when a cap held part of its entry back)
        greatest(floor(
            ap.amount_minor * least(ap.account_points, ap.award_points) * ap.co_funding_share / ap.award_points
        ), 0)::bigint as share_minor
    from account_points as ap
    left join rates as r
        on r.from_currency = ap.currency
        and r.to_currency = ap.account_currency
        and ap.award_date >= r.valid_from
        and ap.award_date < r.valid_to

),

capped as (

    select
        c.*,
        case
            when c.cap_minor is null then c.share_minor
            else greatest(0, least(
                c.share_minor,
                floor((c.cap_minor - coalesce(u.amount_minor, 0)) / coalesce(c.rate, 1))::bigint
                - coalesce(sum(c.share_minor) over (
                    partition by c.account_id, c.period
                    order by c.budget_order, c.instant_at, c.amount_minor, c.award_id
                    rows between unbounded preceding and 1 preceding
                ), 0)
            ))
        end as leg_minor
    from converted as c
    left join used as u on c.account_id = u.account_id and c.period = u.period

),

-- the accounts of one award together never pay more than the award (the company leg is never negative)
within_award as (

    select
        c.*,
        greatest(0, least(
            c.leg_minor,
            c.amount_minor - coalesce(sum(c.leg_minor) over (
                partition by c.award_id order by c.account_id
                rows between unbounded preceding and 1 preceding
            ), 0)
        )) as award_leg_minor
    from capped as c

),

account_legs as (

    select
        award_id,
        account_id,
        award_leg_minor as amount_minor,
        account_points,
        account_currency,
        floor(award_leg_minor * rate)::bigint as account_amount_minor,
        rate,
        rate_date
    from within_award
    where award_leg_minor > 0

)

select
    a.award_id,
    'account'::text as funding_source,
    l.account_id,
    l.amount_minor::bigint as amount_minor,
    a.currency,
    l.account_points::numeric(12, 2) as points_on_account,
    l.account_currency::char(3) as account_currency,
    l.account_amount_minor,
    l.rate::numeric(18, 8) as rate,
    l.rate_date
from account_legs as l
inner join awards as a on l.award_id = a.award_id

union all

select
    a.award_id,
    'company'::text as funding_source,
    null::text as account_id,
    (a.amount_minor - coalesce((select sum(l.amount_minor) from account_legs as l where l.award_id = a.award_id), 0))::bigint
        as amount_minor,
    a.currency,
    null::numeric(12, 2) as points_on_account,
    null::char(3) as account_currency,
    null::bigint as account_amount_minor,
    null::numeric(18, 8) as rate,
    null::date as rate_date
from awards as a
