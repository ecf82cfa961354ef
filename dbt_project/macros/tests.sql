{#- A data test's `where` config may say `__latest_build__`: the test then checks the rows the
    latest build of the night's program wrote into an incremental model (by its
    `(program, _built_at)` index), not all history. A key computed again replaces all its rows,
    and rows written before were checked by the build that wrote them; a full refresh writes
    every row at once, so it checks them all. Over all history these tests cost every night what
    the whole table costs to read (at L, ten million rows a table: see bench/RESULTS.md).

    dbt's documented way to give `where` a placeholder: this project's `get_where_subquery`
    replaces dbt's (the same, but for the placeholder). -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if not where -%}
        {%- do return(relation) -%}
    {%- endif -%}
    {%- set program = "program = '" ~ var('program') ~ "'" -%}
    {%- set latest_query = "select max(_built_at) from " ~ relation ~ " where " ~ program -%}
    {%- if execute and '__latest_build__' in where -%}
        {#- a constant, as in known_row: the planner then knows how many rows the build wrote -#}
        {%- set found = run_query("select coalesce(format('%L::timestamptz', (" ~ latest_query ~ ")), 'null')") -%}
        {%- set latest = program ~ " and _built_at = " ~ found.rows[0][0] -%}
    {%- else -%}
        {%- set latest = program ~ " and _built_at = (" ~ latest_query ~ ")" -%}
    {%- endif -%}
    {%- do return("(select * from " ~ relation ~ " where " ~ (where | replace('__latest_build__', latest))
        ~ ") dbt_subquery") -%}
{%- endmacro %}
