-- Funding legs of each award: what B2B accounts co-fund, and the company
-- budget pays the rest, so the legs of an award sum exactly to it.
--
--   account leg = floor(amount × points earned on the account's interactions
--                 (and nominations) / the award's points × the account's share),
--                 in minor units: rounded down, the company pays the remainder;
--                 then limited by the account's monthly cap, awards taken in the
--                 same order as the budget (smallest first, then employee id)
--   company leg = amount − the account legs
--
-- Only accounts whose co-funding currency is the award's currency (or unset)
-- co-fund; deferred awards have no legs.

with

awards as (

    select * from {{ ref('fct_award_proposals') }}
    where proposed_status <> 'deferred'

),

entries as (

    select * from {{ ref('fct_ledger_entries') }}

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

-- the account each entry was earned on (bonuses belong to no account)
entry_accounts as (

    select
        e.employee_id,
        e.period,
        coalesce(i.account_id, n.account_id) as account_id,
        e.points
    from entries as e
    left join feedback as f on e.source_kind = 'feedback' and e.source_id = f.response_id
    left join interactions as i on f.interaction_id = i.interaction_id
    left join nominations as n on e.source_kind = 'nomination' and e.source_id = n.nomination_id

),

account_points as (

    select
        a.award_id,
        a.period,
        a.amount_minor,
        a.points as award_points,
        ac.account_id,
        ac.co_funding_share,
        round(ac.co_funding_monthly_cap * 100)::bigint as cap_minor,
        sum(ea.points) as account_points
    from awards as a
    inner join entry_accounts as ea on a.employee_id = ea.employee_id and a.period = ea.period
    inner join accounts as ac
        on ea.account_id = ac.account_id
        and (ac.co_funding_currency is null or ac.co_funding_currency = a.currency)
    where a.points > 0
    group by 1, 2, 3, 4, 5, 6, 7

),

uncapped as (

    select
        account_points.*,
        greatest(floor(amount_minor * account_points * co_funding_share / award_points), 0)::bigint as share_minor
    from account_points

),

capped as (

    select
        u.*,
        case
            when u.cap_minor is null then u.share_minor
            else greatest(0, least(
                u.share_minor,
                u.cap_minor - coalesce(sum(u.share_minor) over (
                    partition by u.account_id, u.period order by u.amount_minor, u.award_id
                    rows between unbounded preceding and 1 preceding
                ), 0)
            ))
        end as leg_minor
    from uncapped as u

),

account_legs as (

    select award_id, 'account' as funding_source, account_id, leg_minor as amount_minor, account_points
    from capped
    where leg_minor > 0

)

select
    a.award_id,
    'account'::text as funding_source,
    l.account_id,
    l.amount_minor::bigint as amount_minor,
    a.currency,
    l.account_points::numeric(12, 2) as points_on_account
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
    null::numeric(12, 2) as points_on_account
from awards as a
