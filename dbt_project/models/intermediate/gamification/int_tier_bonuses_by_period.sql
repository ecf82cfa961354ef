-- Tiers, by the period (UTC month) of the entry that reaches them: an employee holds the highest
-- tier whose `min_points` their rolling 12-month points reach (every entry but tier bonuses, over
-- the year up to and including each entry). The first time they reach a tier with a `bonus`, the
-- bonus is posted once, under the version in force at that moment.
--
-- Incremental by period (program, period), as the streaks: a build computes again every period
-- from the earliest one whose entries can have changed since its last build of the program (the
-- periods the caps, streaks and event bonuses wrote since, the periods whose leaderboard points
-- are not those stored; every period when the program was loaded since or never built here).
-- Each period keeps one row per employee with their points in it (`month_points`, no entry): the
-- rolling year at an entry of a period computed again is summed from the entries of the periods
-- computed again, the entries of the months that the year reaches into part of the way (the month
-- a year back, on an ordinary night), and the stored points of the whole months between. A tier
-- reached in a period not computed again stays reached. A period computed again replaces its rows
-- (delete+insert); a marker row (no employee) stands for each one stored, so one left with nothing
-- replaces its old rows. int_tier_bonuses is this table's entries. Before, the rolling year was
-- summed over every entry each night (13 to 17 s of a night at L, bench/RESULTS.md).

{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['program', 'period'],
    on_schema_change='sync_all_columns',
    post_hook=[
        "{{ index_on('period', 'program, period') }}",
        "{{ index_on('built', 'program, _built_at') }}",
    ],
) }}

{#- the entries the tiers count are int_points_earned's (macros/ledger.sql), read here part by part,
    by period -#}
{% if points_earned_parts() != ['int_points_capped', 'int_streak_bonuses', 'int_event_bonuses', 'int_leaderboard_bonuses'] %}
    {{ exceptions.raise_compiler_error("int_tier_bonuses_by_period reads the parts of int_points_earned by period, "
        ~ "and points_earned_parts() changed: read the new part too (`inputs`, `parts` and `changed`)") }}
{% endif %}

{% set marks = {
    'capped_built_at': 'select max(_built_at) from capped',
    'streaks_built_at': 'select max(_built_at) from streak_periods',
    'events_built_at': 'select max(_built_at) from event_periods',
    'program_loaded_at': 'select max(loaded_at) from versions',
} %}
{% set incremental = is_incremental_over(marks) %}

{#- the CTEs of the parts of the points earned, below -#}
{% set parts = ['capped', 'streak_periods', 'event_periods', 'leaderboard'] %}

{#- what the marks read: in the statement, and on their own first (from_period_cte) -#}
{% set inputs -%}
capped as not materialized (

    select * from {{ ref('int_points_capped_by_period') }} where {{ program_is() }}

),

streak_periods as not materialized (

    select * from {{ ref('int_streak_bonuses_by_period') }} where {{ program_is() }}

),

event_periods as not materialized (

    select * from {{ ref('int_event_bonuses_by_period') }} where {{ program_is() }}

),

-- (a table of the night's program: a few rows per employee and period)
leaderboard as not materialized (

    select employee_id, effective_at, points, {{ period_of('effective_at') }} as period
    from {{ ref('int_leaderboard_bonuses') }}

),

versions as (

    select * from {{ ref('stg_program__versions') }} where {{ program_is() }}

),
{%- endset %}

with

{{ inputs }}

tiers as (

    select * from {{ ref('stg_program__tiers') }}
    where {{ program_is() }}

),

{{ watermark_ctes(marks, incremental, from_latest_row=true) }}

{% if incremental %}

-- the earliest period to compute again (from_period_cte): from the periods changed since
{% set changed %}
            select c.period
            from capped as c, previous
            where c._built_at > coalesce(previous.capped_built_at, '-infinity')

            union all

            select s.period
            from streak_periods as s, previous
            where s._built_at > coalesce(previous.streaks_built_at, '-infinity')

            union all

            select e.period
            from event_periods as e, previous
            where e._built_at > coalesce(previous.events_built_at, '-infinity')

            union all

            -- the leaderboard is final once its period has closed (by the night, not a build): the
            -- periods whose leaderboard points are not those stored
            select coalesce(l.period, t.period)
            from (
                select employee_id, period, sum(points) as points
                from leaderboard
                group by employee_id, period
            ) as l
            full join (
                select employee_id, period, leaderboard_points
                from {{ this }}
                where {{ program_is() }} and leaderboard_points is not null
            ) as t on l.employee_id = t.employee_id and l.period = t.period
            where l.points is distinct from t.leaderboard_points
{% endset %}
{{ from_period_cte(marks, inputs, changed) }},

-- the months before the first one computed again that the rolling year of its entries reaches:
-- from twelve months before it; read entry by entry up to the month a year before the night (the
-- year of an entry starts in or before it), from the stored points per month after that
year_back as not materialized (

    select
        to_char(from_period.starts_at at time zone 'UTC' - interval '12 months', 'YYYY-MM') as first_period,
        {{ period_of('(' ~ night_end() ~ " - interval '1 year')") }} as last_read_period,
        from_period.period as recomputed_period
    from from_period

),

{% endif %}

-- every entry the tiers count, part by part (inlined: each use's bounds are read through the
-- parts' period indexes)
earned as not materialized (

    {% for part in parts %}
    select p.employee_id, p.effective_at, p.points, p.period, {{ part == 'leaderboard' }} as is_leaderboard
    from {{ part }} as p
    {{ 'where p.entry_id is not null' if part != 'leaderboard' else '' }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

-- the entries of the periods computed again (all of them on a first build)
entries as (

    select e.*
    from earned as e
    {% if incremental %}
    cross join from_period
    where e.period >= from_period.period
    {% endif %}

),

stream as (

    select employee_id, effective_at, points, true as is_new
    from entries
    {% if incremental %}

    union all

    -- the entries of the months the year reaches into part of the way
    select e.employee_id, e.effective_at, e.points, false
    from earned as e, year_back
    where e.period >= year_back.first_period
        and e.period <= year_back.last_read_period
        and e.period < year_back.recomputed_period

    union all

    -- each whole month after those and before the ones computed again, as one row at its start
    -- (within every new entry's year)
    select t.employee_id, to_date(t.period || '-01', 'YYYY-MM-DD')::timestamp at time zone 'UTC', t.month_points, false
    from {{ this }} as t, year_back
    where {{ program_is('t') }}
        and t.month_points is not null
        and t.period >= year_back.first_period
        and t.period > year_back.last_read_period
        and t.period < year_back.recomputed_period
    {% endif %}

),

rolling as (

    select
        employee_id,
        effective_at,
        is_new,
        sum(points) over (
            partition by employee_id order by effective_at
            range between interval '1 year' preceding and current row
        ) as rolling_points
    from stream
    where exists (select 1 from tiers)

),

-- the highest rolling points before each new entry under the same version: a tier's threshold is
-- crossed where it is above that and not above the entry's (in the order the window above leaves,
-- so sorted within each employee only). Among the periods computed again this is enough: their
-- first entry at or above a tier's threshold under a version is where it is crossed.
crossed as (

    select
        r.employee_id,
        r.effective_at,
        r.rolling_points,
        v.version_id,
        max(r.rolling_points) over (
            partition by r.employee_id, v.version_id order by r.effective_at
            rows between unbounded preceding and 1 preceding
        ) as highest_before
    from rolling as r
    inner join versions as v
        on {{ day_of('r.effective_at') }} >= v.effective_from
        and {{ day_of('r.effective_at') }} < v.effective_to
    where r.is_new

),

-- the first entry under each version whose rolling points reach the tier: one row per employee,
-- version and tier reached (joined to every tier each entry reached, 11.9 M rows at L, grouped)
reached as (

    select
        c.employee_id,
        t.tier_name,
        t.bonus_points,
        c.version_id,
        c.effective_at as reached_at
    from crossed as c
    inner join tiers as t
        on c.version_id = t.version_id
        and c.rolling_points >= t.min_points
        and (c.highest_before is null or c.highest_before < t.min_points)
    where t.bonus_points > 0

),

first_reached as (

    select distinct on (r.employee_id, r.tier_name) r.*
    from reached as r
    {% if incremental %}
    -- a tier reached in a period before stays reached there
    where not exists (
        select 1
        from {{ this }} as t, from_period
        where {{ program_is('t') }} and t.period < from_period.period and t.entry_id is not null
            and t.employee_id = r.employee_id and t.source_id = 'tier:' || r.tier_name
    )
    {% endif %}
    order by r.employee_id, r.tier_name, r.reached_at

)

select
    '{{ var("program") }}'::text as program,
    {{ period_of('f.reached_at') }} as period,
    {{ bonus_entry('tier_bonus', "'tier:' || f.tier_name", 'f.employee_id', 'f.version_id',
        "'tier_' || lower(f.tier_name)", 'f.bonus_points', 'f.reached_at') }},
    null::numeric(14, 2) as month_points,
    null::numeric(14, 2) as leaderboard_points,
    {{ watermark_columns(marks) }},
    now() as _built_at
from first_reached as f
cross join this_build

union all

-- each employee's points in each period computed again, and the leaderboard's part of them
select
    '{{ var("program") }}'::text, m.period, {{ no_bonus_entry('m.employee_id') }},
    m.month_points, m.leaderboard_points, {{ watermark_columns(marks) }}, now()
from (
    select
        period,
        employee_id,
        sum(points)::numeric(14, 2) as month_points,
        (sum(points) filter (where is_leaderboard))::numeric(14, 2) as leaderboard_points
    from entries
    group by period, employee_id
) as m
cross join this_build
{% if incremental %}

union all

-- one marker for each stored period computed again, so that one left with nothing replaces its old rows
select
    '{{ var("program") }}'::text, s.period, {{ no_bonus_entry('null::text') }},
    null::numeric(14, 2), null::numeric(14, 2), {{ watermark_columns(marks) }}, now()
from (
    select distinct t.period
    from {{ this }} as t, from_period
    where {{ program_is('t') }} and t.period >= from_period.period
) as s
cross join this_build
{% endif %}
