{#- The rows the latest build of the night's program wrote into an incremental model, as a
    condition: `program = '<program>' and _built_at >= <a constant>`. In a `dbt build` the constant
    is when that build began, by the database's clock (note_invocation below): the rows this build
    wrote, and none if it wrote nothing. Elsewhere (`dbt test` alone) it is the latest `_built_at`:
    the rows of the latest build. The constant is looked up first and written in (known_values,
    macros/night.sql): the planner then knows how many rows the build wrote (an index scan for a
    night's few, a sequential scan after a full refresh), where a subquery leaves it to guess.
    Outside a run (`dbt compile`) it is the subquery.

    A key computed again replaces all its rows, and rows written before were checked by the build
    that wrote them; a full refresh writes every row at once, so it checks them all. Over all
    history these tests cost every night what the whole table costs to read (at L, ten million
    rows a table: see bench/RESULTS.md). -#}
{% macro latest_build(relation) -%}
    {%- set program = program_is() -%}
    {%- set latest_query = "select max(_built_at) as built_at from " ~ relation ~ " where " ~ program -%}
    {%- if execute and flags.WHICH == 'build' -%}
        {%- set latest_query = "select coalesce((select started_at from plaudit.dbt_invocations"
            ~ " where invocation_id = '" ~ invocation_id ~ "'), (" ~ latest_query ~ ")) as built_at" -%}
    {%- endif -%}
    {%- if execute -%}
        {{- program }} and _built_at >= {{ known_values(['built_at'], latest_query)[0] -}}
    {%- else -%}
        {{- program }} and _built_at >= ({{ latest_query }})
    {%- endif -%}
{%- endmacro %}

{#- on-run-start: note when this `dbt build` began, by the database's clock (migration 0017),
    for latest_build above. Other commands note nothing. -#}
{% macro note_invocation() -%}
    {%- if flags.WHICH == 'build' -%}
        insert into plaudit.dbt_invocations (invocation_id) values ('{{ invocation_id }}')
        on conflict do nothing
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- A data test's `where` config may say `__latest_build__`: the test then checks the rows the
    latest build wrote (latest_build above), not all history.

    dbt's documented way to give `where` a placeholder: this project's `get_where_subquery`
    replaces dbt's (the same, but for the placeholder). -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if not where -%}
        {%- do return(relation) -%}
    {%- endif -%}
    {%- if '__latest_build__' in where -%}
        {%- set where = where | replace('__latest_build__', latest_build(relation)) -%}
    {%- endif -%}
    {%- do return("(select * from " ~ relation ~ " where " ~ where ~ ") dbt_subquery") -%}
{%- endmacro %}
