-- The periodic awards already made, one row per program, employee and period: what the ledger
-- mart needs to place a late entry (an entry of a period whose periodic award exists lands in
-- the next open period). Carried awards (a deferred award moved to the next period) are not
-- here: they do not settle a period's points.
--
-- Incremental and append-only: awards are finance's records, never deleted, so a build adds the
-- periodic awards made since (an anti-join on the key: 400 thousand awards at L, no clock to
-- trust). A night that made only carried awards writes nothing here, so the ledger mart, which
-- reads this and not the awards, is left as it is (materializations/table.sql): at L, while no
-- period is closed, each night carries tens of thousands of deferred awards on (50 to 170
-- thousand in the bench), and the mart (34 s) and the balances after it (8 s) were built again
-- for them. An award removed by hand
-- stays here until a full refresh.

{{ config(
    materialized='incremental',
    incremental_strategy='append',
) }}

with

awards as (

    select * from {{ ref('stg_plaudit__awards') }}
    where award_kind = 'periodic' and carried_from is null

)

select distinct
    '{{ var("program") }}'::text as program,
    awards.employee_id,
    awards.period
from awards
{% if is_incremental() %}
where not exists (
    select 1 from {{ this }} as made
    where made.program = '{{ var("program") }}'
        and made.employee_id = awards.employee_id
        and made.period = awards.period
)
{% endif %}
