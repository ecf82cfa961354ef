{#- The end of the night being processed: feedback strictly before this counts. -#}
{% macro night_end() -%}
    (cast('{{ var("night") }}' as date) + 1)::timestamp at time zone 'UTC'
{%- endmacro %}

{#- The accounting period (YYYY-MM, UTC) of a timestamp. -#}
{% macro period_of(ts) -%}
    to_char({{ ts }} at time zone 'UTC', 'YYYY-MM')
{%- endmacro %}

{#- The day (UTC) of a timestamp: the day a model kept by day files it under. -#}
{% macro day_of(ts) -%}
    ({{ ts }} at time zone 'UTC')::date
{%- endmacro %}

{#- A day's bounds as UTC timestamps: `starts_at` and `ends_at` columns, so that rows of the day
    are read through an index on their time (as period_bounds for a period). -#}
{% macro day_bounds(day) -%}
    {{ day }}::timestamp at time zone 'UTC' as starts_at,
    ({{ day }} + 1)::timestamp at time zone 'UTC' as ends_at
{%- endmacro %}

{#- A regular expression matching `expr` (text) as a whole word, case-insensitively:
    regex metacharacters in names are escaped; a word boundary is any character
    that is not a letter or digit (works for names with accents too). -#}
{% macro whole_word_pattern(expr) -%}
    ('(?i)(^|[^[:alnum:]])' || regexp_replace({{ expr }}, '([.^$|?*+(){}\[\]\\-])', '\\\1', 'g') || '($|[^[:alnum:]])')
{%- endmacro %}

{#- A score on its kind's scale mapped to [0, 1] (higher is better; CES is read
    as "the company made it easy": 7 is best). -#}
{% macro normalised_score(kind, score) -%}
    (case {{ kind }}
        when 'csat' then ({{ score }} - 1) / 4.0
        when 'stars' then ({{ score }} - 1) / 4.0
        when 'nps' then {{ score }} / 10.0
        when 'ces' then ({{ score }} - 1) / 6.0
        when 'thumbs' then {{ score }}::numeric
    end)::numeric
{%- endmacro %}

{#- A ledger entry's deterministic id: program, source, employee and entry kind
    (not the rule or version, so a corrected score or a new program version maps
    to the same entry and nothing is posted twice). -#}
{% macro ledger_entry_id(source_kind, source_id, employee_id, entry_kind) -%}
    md5(concat_ws('|', '{{ var("program") }}', {{ source_kind }}, {{ source_id }}, {{ employee_id }}, {{ entry_kind }}))
{%- endmacro %}

{#- Whether the employee version `e` is covered by program version `version_col`
    at time `at_col`: their role, team, location and status then are among the
    program's (no rows for a dimension = all covered), they were hired and not
    yet terminated. -#}
{% macro covered_by_program(eligibility, e, version_col, at_col) -%}
    (
        {%- for dimension, column in [('role', 'employee_role'), ('team', 'team'), ('location', 'location'),
                                      ('status', 'employment_status')] %}
        (
            not exists (
                select 1 from {{ eligibility }} as el
                where el.version_id = {{ version_col }} and el.dimension = '{{ dimension }}'
            )
            or exists (
                select 1 from {{ eligibility }} as el
                where el.version_id = {{ version_col }} and el.dimension = '{{ dimension }}'
                    and el.covered_value = {{ e }}.{{ column }}
            )
        )
        and
        {%- endfor %}
        ({{ e }}.hire_date is null or {{ e }}.hire_date <= ({{ at_col }})::date)
        and ({{ e }}.terminated_on is null or {{ e }}.terminated_on > ({{ at_col }})::date)
        -- a version marked terminated with no date earns nothing
        and ({{ e }}.employment_status <> 'terminated' or {{ e }}.terminated_on is not null)
    )
{%- endmacro %}

{#- The columns of a ledger entry for a bonus (streak, milestone, challenge,
    tier, leaderboard): weight 1, no multiplier, no cap. -#}
{% macro bonus_entry(entry_kind, source_id, employee_id, version_id, rule_id, points, effective_at) -%}
    {{ ledger_entry_id("'bonus'", source_id, employee_id, "'" ~ entry_kind ~ "'") }} as entry_id,
    '{{ entry_kind }}'::text as entry_kind,
    'bonus'::text as source_kind,
    ({{ source_id }})::text as source_id,
    {{ employee_id }} as employee_id,
    {{ version_id }} as version_id,
    ({{ rule_id }})::text as rule_id,
    1::numeric(9, 6) as attribution_weight,
    ({{ points }})::numeric(12, 2) as rule_points,
    1::numeric(8, 4) as multiplier,
    ({{ points }})::numeric(12, 2) as points,
    0::numeric(12, 2) as capped_points,
    null::text as channel,
    null::text as feedback_kind,
    null::integer as score,
    ({{ effective_at }})::timestamptz as effective_at
{%- endmacro %}

{#- bonus_entry's columns with no entry in them, but for `employee_id` (a literal or a column) and
    `effective_at` (a time the row stands for, or null): the rows a table of bonuses by period keeps
    beside its entries (tallies, last days, markers). -#}
{% macro no_bonus_entry(employee_id, effective_at='null') -%}
    null::text, null::text, null::text, null::text, {{ employee_id }}, null::text, null::text,
    null::numeric(9, 6), null::numeric(12, 2), null::numeric(8, 4), null::numeric(12, 2), null::numeric(12, 2),
    null::text, null::text, null::integer, ({{ effective_at }})::timestamptz
{%- endmacro %}

{# Whether an entry kind is paid as an instant award under a version's
   `awards.instant` list (jsonb): nominations, milestones, challenges. #}
{% macro is_instant(entry_kind, instant_kinds) -%}
    coalesce({{ instant_kinds }} ? (case {{ entry_kind }}
        when 'nomination_points' then 'nomination'
        when 'milestone' then 'milestone'
        when 'challenge_bonus' then 'challenge'
    end), false)
{%- endmacro %}

{#- The period (YYYY-MM) after a period. -#}
{% macro next_period(period) -%}
    to_char(to_date({{ period }} || '-01', 'YYYY-MM-DD') + interval '1 month', 'YYYY-MM')
{%- endmacro %}

{#- The post-hook of every table model: statistics as soon as it is built (the next
    model's plan depends on them, and autovacuum comes too late). Only when this build wrote
    rows (the hooks run in the build's transaction, whose counts per table PostgreSQL keeps):
    an incremental model with nothing to do took most of its second re-reading a sample of a
    big table (0.85 s of 1.15 s at M).

    And the change, for the models that read this one (plaudit.relation_changes, migration
    0016): noted when this build wrote, updated or deleted rows, or created the table (its
    catalog row written by this transaction: a table built again, even with no rows). A
    table left as it is (materializations/table.sql) or an incremental build with nothing to
    do notes nothing. Views have no hook: they hold no rows. -#}
{% macro after_table_build() -%}
    {%- if model.config.materialized == 'view' -%}
        select 1
    {%- else -%}
        do $plaudit_built$
        declare
            built constant regclass := '{{ this }}'::regclass;
        begin
            if pg_stat_get_xact_tuples_inserted(built) + pg_stat_get_xact_tuples_deleted(built) > 0 then
                analyze {{ this }};
            end if;
            if (select xmin from pg_class where oid = built) = pg_current_xact_id()::xid then
                insert into plaudit.relation_changes (relation)
                values ('{{ this.schema }}.{{ this.identifier }}') on conflict do nothing;
            else
                perform plaudit.note_relation_change('{{ this.schema }}.{{ this.identifier }}', built);
            end if;
        end
        $plaudit_built$
    {%- endif -%}
{%- endmacro %}

{#- is_incremental(), and the table already has `columns`: the first build after a
    model gained its incremental bookkeeping computes everything, as a first build
    does (its old rows have no program and are never read; a full refresh drops them).
    In a unit test, is_incremental() alone (its `this` is the test's rows). -#}
{% macro is_incremental_with(columns) -%}
    {%- if not is_incremental() -%}
        {{ return(false) }}
    {%- endif -%}
    {#- a unit test that overrides is_incremental gives `this` as rows: there is no table to look at -#}
    {%- if model.resource_type == 'unit_test' -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set existing = adapter.get_columns_in_relation(this) | map(attribute='name') | list -%}
    {%- for c in columns if c not in existing -%}
        {{ return(false) }}
    {%- endfor -%}
    {{ return(true) }}
{%- endmacro %}

{#- is_incremental_over(marks), and the program's rows have `columns`, which a model gained after it was
    first built: false until a build has written them (sync_all_columns adds a column with nulls to the
    rows already there). The first of `columns` is set in every row the model writes; it is read in
    the latest row, which the latest build wrote. The model's post-hook (delete_rows_without) deletes
    the program's rows without it after the build that computed everything. -#}
{% macro is_incremental_over_rows_with(marks, columns) -%}
    {%- if not (is_incremental_over(marks) and is_incremental_with(columns)) -%}
        {{ return(false) }}
    {%- endif -%}
    {%- if not execute or model.resource_type == 'unit_test' -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set latest = run_query("select " ~ columns[0] ~ " is not null from " ~ this ~ " where " ~ program_is()
        ~ " order by _built_at desc limit 1") -%}
    {{ return(latest.rows | length == 0 or latest.rows[0][0]) }}
{%- endmacro %}

{#- The post-hook that goes with is_incremental_over_rows_with: deletes the night's program's rows
    without `column` (written before the model gained it), once the build that computed everything
    has written the rows that replace them. -#}
{% macro delete_rows_without(column) -%}
    delete from {{ this }} where {{ program_is() }} and {{ column }} is null
{%- endmacro %}

{#- An employee's first name: the first word of their full name (how comments name them). -#}
{% macro first_name_of(full_name) -%}
    split_part({{ full_name }}, ' ', 1)
{%- endmacro %}

{#- The bookkeeping of a model incremental over the night's program. `marks` maps a name
    to a scalar query of what this build sees (the latest build time of a model it reads,
    the latest load time of a raw table). watermark_ctes defines the CTEs `this_build`
    (those values) and, when incremental, `previous` (the latest of each that this model's
    earlier builds of the program stored, nulls when there were none), each followed by a
    comma; watermark_columns stores this build's values with each row, as `_<name>`.
    With `from_latest_row`, `previous` is read from the row with the latest `_built_at`
    through its index instead of from every row: for marks that only grow (a mark that
    does not, such as a night, is then that of the last build that wrote rows).
    `previous` is read before the model's statement and written into it as constants
    (known_row), so the planner sees the bounds: use it as a join (`from t, previous where
    t.x > previous.x`), which folds into `t.x > constant`, not as a scalar subquery. -#}
{#- `known`: this build's marks are read first and written in as constants (known_row), so that
    a test between them and the previous ones folds to true or false when the plan is made and a
    branch it rules out is not read; the marks' queries must then stand alone (refs, not the
    model's CTEs). A row loaded between that read and the statement is newer than the mark
    written, so the next build reads it again. -#}
{% macro watermark_ctes(marks, incremental, from_latest_row=false, known=false) -%}
{%- set this_build_sql -%}
    select
    {%- for name, query in marks.items() %}
        ({{ query }}) as {{ name }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endset %}
{%- if incremental and known %}
this_build as not materialized (

    {% call known_row(marks.keys()) %}{{ this_build_sql }}{% endcall %}

),
{% else %}
this_build as (

    {{ this_build_sql }}

),
{% endif %}
{% if incremental and from_latest_row %}
previous as not materialized (

    -- the marks of the latest row written, through the (program, _built_at) index: the latest
    -- build that wrote rows saw the latest marks (a build that computes nothing writes nothing)
    {% call known_row(marks.keys()) -%}
    select
    {%- for name in marks %}
        t._{{ name }} as {{ name }}{{ ',' if not loop.last }}
    {%- endfor %}
    from (select) as one
    left join lateral (
        select * from {{ this }} where program = '{{ var("program") }}' order by _built_at desc limit 1
    ) as t on true
    {%- endcall %}

),
{% elif incremental %}
previous as not materialized (

    {% call known_row(marks.keys()) -%}
    select
    {%- for name in marks %}
        max(_{{ name }}) as {{ name }}{{ ',' if not loop.last }}
    {%- endfor %}
    from {{ this }}
    where program = '{{ var("program") }}'
    {%- endcall %}

),
{% endif %}
{%- endmacro %}

{% macro watermark_columns(marks) -%}
    {%- for name in marks -%}
    this_build.{{ name }} as _{{ name }}{{ ', ' if not loop.last }}
    {%- endfor -%}
{%- endmacro %}

{#- is_incremental_with the program column and the stored marks of watermark_ctes. -#}
{% macro is_incremental_over(marks) -%}
    {%- set columns = ['program'] -%}
    {%- for name in marks -%}
        {%- do columns.append('_' ~ name) -%}
    {%- endfor -%}
    {{ return(is_incremental_with(columns)) }}
{%- endmacro %}

{#- A period's (YYYY-MM) bounds as UTC timestamps: `starts_at` and `ends_at` columns, so
    that rows of the period are read through an index on their time. -#}
{% macro period_bounds(period) -%}
    to_date({{ period }} || '-01', 'YYYY-MM-DD')::timestamp at time zone 'UTC' as starts_at,
    (to_date({{ period }} || '-01', 'YYYY-MM-DD') + interval '1 month')::timestamp at time zone 'UTC' as ends_at
{%- endmacro %}

{#- The `from_period` CTE of a model incremental by period (the bonuses by period): the earliest
    period to compute again and its bounds (all null: nothing to do), looked up first and written
    in as constants (known_row). As a subquery it was a parameter: the planner read all the events,
    and wrote the feedback events to disk, to find none were late enough (at L, 6.6 million rows
    and 17 s of a night with nothing new); a null bound folds to false, and nothing is read.
    `inputs`: the CTEs that `marks` and `changed` read, each followed by a comma. `changed`: selects
    of the periods changed since the last build (`previous`), joined by `union all`. Every period
    when the program was loaded since: `marks` has `program_loaded_at`. -#}
{% macro from_period_cte(marks, inputs, changed) -%}
from_period as not materialized (

    {% call known_row(['period', 'starts_at', 'ends_at']) -%}
    with

    {{ inputs }}

    {{ watermark_ctes(marks, true, from_latest_row=true) }}

    earliest as (

        select min(period) as period
        from (
            {{ changed }}

            union all

            -- everything
            select '0000-01'
            from previous, this_build
            where previous.program_loaded_at is distinct from this_build.program_loaded_at
        ) as changed

    )

    select earliest.period, {{ period_bounds('earliest.period') }}
    from earliest
    {%- endcall %}

)
{%- endmacro %}

{#- The rows of `relation` whose `column` lies in one of the ranges [starts_at, ends_at) of
    `ranges`, range by range: a lateral with `offset 0` is not flattened into a join. Planned
    as a join, the ranges (estimated at a million rows when there are a handful) made whole
    tables be joined and sorted before the ranges filtered them (the caps at M with no period
    to compute: 4.1 s, 0.4 s this way; fairness for the one period a new day opens: 13.2 s,
    1.2 s). Use as `from {{ rows_in_ranges('points', 'effective_at') }} as p`. -#}
{% macro rows_in_ranges(relation, column, ranges='changed_ranges') -%}
{{ ranges }} as range_
    cross join lateral (
        select * from {{ relation }} as in_range_
        where in_range_.{{ column }} >= range_.starts_at and in_range_.{{ column }} < range_.ends_at
        offset 0
    )
{%- endmacro %}

{#- `relation`'s rows that match the outer query's current row, looked up one row at a time
    through an index: a lateral with `offset 0` is not flattened into a join. For the keys an
    incremental build computes again (a day's, a few thousand of millions): joined as a set, the
    planner estimated them at hundreds of thousands and hashed or merged every row of the big
    table against them (attribution and customers served at L: 52 and 46 s of an ordinary
    night, reading 12 and 6.5 GB). Not for a build that computes everything: use it when
    looks_up_changes is true. Use as
    `cross join {{ looked_up('participants', 'p', 'p.interaction_id = f.interaction_id') }} as p`. -#}
{% macro looked_up(relation, alias, condition, columns='*') -%}
lateral (select {{ columns }} from {{ relation }} as {{ alias }} where {{ condition }} offset 0)
{%- endmacro %}

{#- The condition on the night's program, `program = '<program>'` (`<alias>.program = …` with an
    alias), for SQL written as Jinja strings: looked_up's conditions, run_query's queries. -#}
{% macro program_is(alias=none) -%}
    {{- return((alias ~ '.' if alias else '') ~ "program = '" ~ var('program') ~ "'") -}}
{%- endmacro %}

{#- Whether an incremental build looks up the keys it computes again (looked_up): true unless
    the night's program was loaded after this model's last build of it (or it has none), when every
    key is computed again and whole tables are better joined. Read now, a constant for Jinja; in a
    unit test, false (its inputs are rows). `built`: the column of this model's build time, or of
    a time its build saw, later than the program's load on the night it was loaded (a mark). -#}
{% macro looks_up_changes(incremental, built='_built_at') -%}
    {%- if model.resource_type == 'unit_test' -%}
        {{ return(false) }}
    {%- endif -%}
    {#- (a ref when the model is parsed too, so that dbt knows the dependency) -#}
    {%- set versions = ref('stg_program__versions') -%}
    {%- if not incremental or not execute -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set result = run_query(
        "select coalesce((select max(loaded_at) from " ~ versions ~ " where " ~ program_is() ~ ")"
        ~ " <= (select max(" ~ built ~ ") from " ~ this ~ " where " ~ program_is() ~ "), false)") -%}
    {{ return(result.rows[0][0]) }}
{%- endmacro %}

{#- The one row of the query in the call block, read when the model runs and written as
    constants (`select '…'::type as column, …`), for a `not materialized` CTE. The planner
    then knows the values: a bound such as `_built_at > previous.built_at` folds into a
    constant, which it estimates from the statistics and reads through the index. As a
    scalar subquery or a join to a computed row, a bound is a parameter, estimated at a
    third of the table: the changed rows of a night (a few thousand) were planned as a
    third of all history, and whole tables were hashed to join them (credits at L: 97 s of
    the incremental night). `columns` are the query's columns, in order. In a unit test the
    query stays in the statement (its inputs are the test's rows, not tables to read). -#}
{% macro known_row(columns) -%}
    {%- set query = caller() -%}
    {%- if execute and model.resource_type != 'unit_test' -%}
        {%- set values = known_values(columns, query) -%}
    select
        {%- for c in columns %}
        {{ values[loop.index0] }} as {{ c }}{{ ',' if not loop.last }}
        {%- endfor %}
    {%- else -%}
    {{ query }}
    {%- endif -%}
{%- endmacro %}

{#- The one row of `query`, read now: a list of SQL literals (`'…'::type`, or `NULL::type`),
    one per column in `columns`. known_row's constants, and latest_build's (macros/tests.sql). -#}
{% macro known_values(columns, query) -%}
    {%- set literals = [] -%}
    {%- for c in columns -%}
        {%- do literals.append("format('%L::%s', q." ~ c ~ ", pg_typeof(q." ~ c ~ "))") -%}
    {%- endfor -%}
    {%- set result = run_query("select " ~ literals | join(", ") ~ " from (" ~ query ~ ") as q") -%}
    {%- if result.rows | length != 1 -%}
        {%- do exceptions.raise_compiler_error("known_values: the query returned " ~ (result.rows | length)
            ~ " rows, and must return exactly one: " ~ query) -%}
    {%- endif -%}
    {%- do return(result.rows[0] | list) -%}
{%- endmacro %}
