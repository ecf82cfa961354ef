{#- dbt's incremental materialization (global_project, dbt-core 1.11), except how an incremental
    build learns that the new rows have the table's columns.

    dbt reads the columns of the new rows' temporary table and of the target four times (twice to
    widen string types, twice for `on_schema_change`), each a query whose result becomes an agate
    table with its types inferred: about a seventh of a build's time on a night's few rows, for
    19 incremental models whose columns change only when their SQL does. Here one catalog query
    compares the two tables' columns (name, type with its length or precision: PostgreSQL's
    `format_type`). When they are the same, nothing can be widened or synced, and the rows are
    inserted under the temporary table's column names: what dbt's path does then. When they
    differ, dbt's own path runs, unchanged (`expand_target_column_types`, `process_schema_changes`). -#}

{#- The temporary table's columns (in order) when the target has the same names and types, else none. -#}
{% macro plaudit_same_columns(temp_relation, target_relation) -%}
  {%- call statement('plaudit_columns', fetch_result=True) -%}
    with relations as (
      select to_regclass(format('pg_temp.%I', '{{ temp_relation.identifier }}')) as temp,
        to_regclass(format('%I.%I', '{{ target_relation.schema }}', '{{ target_relation.identifier }}')) as target
    ), columns as (
      select a.attrelid = r.temp as is_temp, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod) as data_type
      from relations r join pg_attribute a on a.attrelid in (r.temp, r.target)
      where a.attnum > 0 and not a.attisdropped
    )
    select attname, data_type,
      (select array_agg(attname || ' ' || data_type order by attname) from columns where is_temp)
        = (select array_agg(attname || ' ' || data_type order by attname) from columns where not is_temp) as same
    from columns where is_temp order by attnum
  {%- endcall -%}
  {%- set rows = load_result('plaudit_columns')['data'] -%}
  {%- if rows | length == 0 or not rows[0][2] -%}
    {{ return(none) }}
  {%- endif -%}
  {%- set found = [] -%}
  {%- for name, data_type, _ in rows -%}
    {%- do found.append(api.Column(name, data_type)) -%}
  {%- endfor -%}
  {{ return(found) }}
{%- endmacro %}

{% materialization incremental, adapter='postgres' -%}

  -- relations
  {%- set existing_relation = load_cached_relation(this) -%}
  {%- set target_relation = this.incorporate(type='table') -%}
  {%- set temp_relation = make_temp_relation(target_relation)-%}
  {%- set intermediate_relation = make_intermediate_relation(target_relation)-%}
  {%- set backup_relation_type = 'table' if existing_relation is none else existing_relation.type -%}
  {%- set backup_relation = make_backup_relation(target_relation, backup_relation_type) -%}

  -- configs
  {%- set unique_key = config.get('unique_key') -%}
  {%- set full_refresh_mode = (should_full_refresh()  or existing_relation.is_view) -%}
  {%- set on_schema_change = incremental_validate_on_schema_change(config.get('on_schema_change'), default='ignore') -%}

  {%- set preexisting_intermediate_relation = load_cached_relation(intermediate_relation)-%}
  {%- set preexisting_backup_relation = load_cached_relation(backup_relation) -%}
  {% set grant_config = config.get('grants') %}
  {{ drop_relation_if_exists(preexisting_intermediate_relation) }}
  {{ drop_relation_if_exists(preexisting_backup_relation) }}

  {{ run_hooks(pre_hooks, inside_transaction=False) }}

  -- `BEGIN` happens here:
  {{ run_hooks(pre_hooks, inside_transaction=True) }}

  {% set to_drop = [] %}

  {% set incremental_strategy = config.get('incremental_strategy') or 'default' %}
  {% set strategy_sql_macro_func = adapter.get_incremental_strategy_macro(context, incremental_strategy) %}

  {% if existing_relation is none %}
      {% set build_sql = get_create_table_as_sql(False, target_relation, sql) %}
      {% set relation_for_indexes = target_relation %}
  {% elif full_refresh_mode %}
      {% set build_sql = get_create_table_as_sql(False, intermediate_relation, sql) %}
      {% set relation_for_indexes = intermediate_relation %}
      {% set need_swap = true %}
  {% else %}
    {% do run_query(get_create_table_as_sql(True, temp_relation, sql)) %}
    {% set relation_for_indexes = temp_relation %}
    {% set dest_columns = plaudit_same_columns(temp_relation, target_relation) %}
    {% if dest_columns is none %}
      {% set contract_config = config.get('contract') %}
      {% if not contract_config or not contract_config.enforced %}
        {% do adapter.expand_target_column_types(
                 from_relation=temp_relation,
                 to_relation=target_relation) %}
      {% endif %}
      {#-- Process schema changes. Returns dict of changes if successful. Use source columns for upserting/merging --#}
      {% set dest_columns = process_schema_changes(on_schema_change, temp_relation, existing_relation) %}
      {% if not dest_columns %}
        {% set dest_columns = adapter.get_columns_in_relation(existing_relation) %}
      {% endif %}
    {% endif %}

    {#-- Get the incremental_strategy, the macro to use for the strategy, and build the sql --#}
    {% set incremental_predicates = config.get('predicates', none) or config.get('incremental_predicates', none) %}
    {% set strategy_arg_dict = ({'target_relation': target_relation, 'temp_relation': temp_relation, 'unique_key': unique_key, 'dest_columns': dest_columns, 'incremental_predicates': incremental_predicates }) %}
    {% set build_sql = strategy_sql_macro_func(strategy_arg_dict) %}

  {% endif %}

  {% call statement("main") %}
      {{ build_sql }}
  {% endcall %}

  {% if existing_relation is none or existing_relation.is_view or should_full_refresh() %}
    {% do create_indexes(relation_for_indexes) %}
  {% endif %}

  {% if need_swap %}
      {% do adapter.rename_relation(target_relation, backup_relation) %}
      {% do adapter.rename_relation(intermediate_relation, target_relation) %}
      {% do to_drop.append(backup_relation) %}
  {% endif %}

  {% set should_revoke = should_revoke(existing_relation, full_refresh_mode) %}
  {% do apply_grants(target_relation, grant_config, should_revoke=should_revoke) %}

  {% do persist_docs(target_relation, model) %}

  {{ run_hooks(post_hooks, inside_transaction=True) }}

  -- `COMMIT` happens here
  {% do adapter.commit() %}

  {% for rel in to_drop %}
      {% do adapter.drop_relation(rel) %}
  {% endfor %}

  {{ run_hooks(post_hooks, inside_transaction=False) }}

  {{ return({'relations': [target_relation]}) }}

{%- endmaterialization %}
