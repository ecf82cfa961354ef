{#- Milestones and monthly challenges, by the period (UTC month) of the event that earns them: the
    statement of int_feedback_event_bonuses_by_period (the feedback's metrics) and of
    int_served_event_bonuses_by_period (customers served), each a table of its own so that the
    customers served, which need no capped points, are counted while the feedback is still being
    attributed and capped (bench/RESULTS.md, "The customers served's milestones apart").

      milestone  the `at`-th event of a metric in an employee's whole history (the 100th five-star
                 rating, the 1,000th customer served) earns the milestone's points once, under the
                 version in force at that event
      challenge  reaching `goal` events of a metric within one period earns the challenge's points,
                 once per period (or only in the challenge's `period`, when it names one), under the
                 version in force at the event that reached the goal

    Events are counted in time order (ties by event id); each metric is counted in one of the two
    tables, so the two numberings never meet.

    Incremental by day (program, period, entry_day): a build computes again the events from the
    earliest day whose events can have changed since its last build of the program (`changed_days`:
    the days of the inputs written since) to the end; from the first day of all when the program
    was loaded since or never built here. It numbers those events after the ones before that day,
    counted from the tallies stored with each period: one row per employee, metric and period with
    its number of events (`events`, no entry) and the time of the latest (`effective_at`), kept
    under the day 'infinity'. The period of that day goes on from its stored tallies, unless they
    counted an event of that day or later (a late one): then it is computed again from its start.
    So a night that adds a day numbers that day's events, where it numbered the month's so far (at
    L a month's end took 21.9 s, 5 million events numbered; now 3.5 s). A day computed again
    replaces its rows (delete+insert), and so does a period's tallies; a marker row (no employee)
    stands for each day and each period's tallies stored from that day on, so one left with nothing
    replaces its old rows.

    events        the statement of the events it counts (employee_id, version_id, metric, event_id,
                  event_at), which may read the CTEs of `inputs`
    inputs        the CTEs the model's marks read, each followed by a comma: in the statement, and
                  on their own first (from_day); `versions` (the program's versions) is added
    marks         watermark_ctes' marks of the model's inputs; `program_loaded_at` is added
    changed_days  a statement of the days (`day`) whose events changed since the last build, from
                  the CTEs of `inputs` and `previous` (the marks the last build stored) -#}
{% macro event_bonuses_by_period(events, inputs, marks, changed_days) -%}
{% set inputs -%}
{{ inputs }}

versions as (

    select * from {{ ref('stg_program__versions') }} where program = '{{ var("program") }}'

),
{%- endset %}
{% set marks = dict(marks, program_loaded_at='select max(loaded_at) from versions') %}
{% set incremental = is_incremental_over(marks) %}
{#- the day a period's tallies are kept under -#}
{% set tallies_day = "'infinity'::date" %}

with

{{ inputs }}

events as not materialized (

    {{ events }}

),

milestones as (

    select * from {{ ref('stg_program__milestones') }}
    where program = '{{ var("program") }}'

),

challenges as (

    select * from {{ ref('stg_program__challenges') }}
    where program = '{{ var("program") }}'

),

counted_metrics as (

    select metric from milestones
    union
    select metric from challenges

),

{{ watermark_ctes(marks, incremental, from_latest_row=true) }}

{% if incremental %}

-- the earliest time to compute again, and its period's bounds (all null: nothing to do), read first
-- and written in as constants (known_row): the start of the earliest day changed since, or of its
-- period when the period's stored tallies counted an event of that day or later
from_day as not materialized (

    {% call known_row(['period', 'from_at', 'starts_at', 'ends_at']) -%}
    with

    {{ inputs }}

    {{ watermark_ctes(marks, true, from_latest_row=true) }}

    earliest as (

        select min(day)::timestamp at time zone 'UTC' as from_at
        from (
            {{ changed_days }}

            union all

            -- everything
            select '0001-01-01'::date
            from previous, this_build
            where previous.program_loaded_at is distinct from this_build.program_loaded_at
        ) as changed

    ),

    bounded as (

        select {{ period_of('e.from_at') }} as period, e.from_at, b.starts_at, b.ends_at
        from earliest as e
        cross join lateral (select {{ period_bounds(period_of('e.from_at')) }}) as b

    )

    select
        b.period,
        case
            when exists (
                select 1 from {{ this }} as t
                where t.program = '{{ var("program") }}' and t.period = b.period and t.entry_day = {{ tallies_day }}
                    and t.effective_at >= b.from_at
            ) then b.starts_at
            else b.from_at
        end as from_at,
        b.starts_at,
        b.ends_at
    from bounded as b
    {%- endcall %}

),

-- the stored tallies of the period computed from a day after its start (it goes on from them)
period_before as (

    select t.employee_id, t.metric, t.events, t.effective_at
    from {{ this }} as t, from_day
    where t.program = '{{ var("program") }}' and t.period = from_day.period and t.entry_day = {{ tallies_day }}
        and t.events is not null and from_day.from_at > from_day.starts_at

),

-- each employee's events of a metric before that time: in the periods before, and in its own
before as (

    select
        coalesce(p.employee_id, h.employee_id) as employee_id,
        coalesce(p.metric, h.metric) as metric,
        coalesce(h.events, 0) + coalesce(p.events, 0) as events,
        coalesce(p.events, 0) as in_period
    from period_before as p
    full join (
        select t.employee_id, t.metric, sum(t.events) as events
        from {{ this }} as t, from_day
        where t.program = '{{ var("program") }}' and t.period < from_day.period and t.entry_day = {{ tallies_day }}
            and t.events is not null
        group by t.employee_id, t.metric
    ) as h on p.employee_id = h.employee_id and p.metric = h.metric

),

{% endif %}

counted as (

    select
        e.*,
        {{ period_of('e.event_at') }} as period,
        -- the period is the month of event_at, so ordering by it first changes no number, and both
        -- numberings come from one sort, by (employee, metric, period, event_at, event_id): at M a
        -- full build sorted the events twice
        row_number() over (
            partition by e.employee_id, e.metric order by {{ period_of('e.event_at') }}, e.event_at, e.event_id
        ) as no_from,
        row_number() over (
            partition by e.employee_id, e.metric, {{ period_of('e.event_at') }} order by e.event_at, e.event_id
        ) as no_in_period_from
    from events as e
    {% if incremental %}
        inner join from_day on e.event_at >= from_day.from_at
    {% endif %}
    where e.metric in (select metric from counted_metrics)

),

numbered as (

    select
        c.*,
        {% if incremental %}
            coalesce(b.events, 0) + c.no_from as event_no,
            -- (the period computed from a day goes on from its stored tally; those after start at 0)
            case when c.period = from_day.period then coalesce(b.in_period, 0) else 0 end
                + c.no_in_period_from as no_in_period
        {% else %}
            c.no_from as event_no,
            c.no_in_period_from as no_in_period
        {% endif %}
    from counted as c
    {% if incremental %}
        cross join from_day
        left join before as b on c.employee_id = b.employee_id and c.metric = b.metric
    {% endif %}

),

entries as (

    select
        n.period,
        {{ bonus_entry('milestone', 'm.milestone_id', 'n.employee_id', 'n.version_id', 'm.milestone_id',
            'm.points', 'n.event_at') }}
    from numbered as n
    inner join milestones as m
        on n.version_id = m.version_id
        and n.metric = m.metric
        and n.event_no = m.reached_at_count

    union all

    select
        n.period,
        {{ bonus_entry('challenge_bonus', "ch.challenge_id || ':' || n.period", 'n.employee_id', 'n.version_id',
            'ch.challenge_id', 'ch.points', 'n.event_at') }}
    from numbered as n
    inner join challenges as ch
        on n.version_id = ch.version_id
        and n.metric = ch.metric
        and n.no_in_period = ch.goal
        and (ch.challenge_period is null or ch.challenge_period = n.period)

)

select
    '{{ var("program") }}'::text as program,
    e.*,
    null::text as metric,
    null::bigint as events,
    {{ day_of('e.effective_at') }} as entry_day,
    {{ watermark_columns(marks) }},
    now() as _built_at
from entries as e
cross join this_build

union all

-- the tallies, with the time of the latest event each counted
select
    '{{ var("program") }}'::text, t.period, {{ no_bonus_entry('t.employee_id', 't.last_event_at') }},
    t.metric, t.events, {{ tallies_day }}, {{ watermark_columns(marks) }}, now()
from (
    select period, employee_id, metric, sum(events)::bigint as events, max(last_event_at) as last_event_at
    from (
        select period, employee_id, metric, count(*) as events, max(event_at) as last_event_at
        from counted
        group by period, employee_id, metric
        {% if incremental %}

        union all

        select from_day.period, p.employee_id, p.metric, p.events, p.effective_at
        from period_before as p, from_day
        {% endif %}
    ) as counts
    group by period, employee_id, metric
) as t
cross join this_build
{% if incremental %}

union all

-- one marker for each stored day and period's tallies computed again, so that one left with
-- nothing replaces its old rows
select
    '{{ var("program") }}'::text, s.period, {{ no_bonus_entry('null::text') }},
    null::text, null::bigint, s.entry_day, {{ watermark_columns(marks) }}, now()
from (
    select distinct t.period, t.entry_day
    from {{ this }} as t, from_day
    where t.program = '{{ var("program") }}' and t.period >= from_day.period
        and t.entry_day >= {{ day_of('from_day.from_at') }}
) as s
cross join this_build
{% endif %}
-- in the order of the (program, period, entry_day) index, through which the tallies are read
order by period, entry_day
{%- endmacro %}
