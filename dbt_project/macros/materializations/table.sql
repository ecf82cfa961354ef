{#- dbt's table materialization (global_project, dbt-core 1.11), except that a table whose
    SQL and inputs have not changed since it was built is left as it is.

    The models rebuilt from all history every night (the ledger mart, corrections, tiers, streaks,
    proposals, funding) were nearly all of an empty night at L: 100 of its 102 s of dbt, to write
    again what was there. "Not changed": the table carries, as its comment, the md5 of the SQL it
    was built from (the night, the program and every constant read before the build are in it),
    of its contract and columns, and of its inputs' state when it was built. Its inputs are the
    tables and sources it reads, through any views (dbt's graph); a table's state is its oid
    (built again: another table) and how many transactions have changed it
    (plaudit.relation_changes, migration 0016: source tables note their changes with a trigger,
    models with their post-hook, after_table_build in macros/night.sql). A view's state is its oid
    (created again when its definition changed: materializations/view.sql).

    The state is read before the build and stored with it: a change committed during the build
    makes the next build run again, never the other way round. A full refresh builds every table
    again, and so does every build while PLAUDIT_REBUILD_TABLES is `true`: for source tables
    written in a way that fires no statement trigger (logical replication, triggers disabled). The
    project does not use `persist_docs`, which would write the comment too. -#}

{#- The schema-qualified names of the relations the model reads, through views and ephemeral
    models down to tables, incremental models and sources (in `found`, a dict used as a set). -#}
{% macro plaudit_table_inputs(unique_ids, found) -%}
    {%- for uid in unique_ids -%}
        {%- if uid in graph.sources -%}
            {%- set node = graph.sources[uid] -%}
            {%- do found.update({node.schema ~ '.' ~ node.identifier: true}) -%}
        {%- elif uid in graph.nodes and graph.nodes[uid].resource_type == 'model' -%}
            {%- set node = graph.nodes[uid] -%}
            {%- set materialized = node.config.materialized -%}
            {%- if materialized != 'ephemeral' -%}
                {%- do found.update({node.schema ~ '.' ~ (node.alias or node.name): true}) -%}
            {%- endif -%}
            {%- if materialized in ('view', 'ephemeral') -%}
                {%- do plaudit_table_inputs(node.depends_on.nodes, found) -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
{%- endmacro %}

{#- The md5 of the inputs' state (see above), as an SQL expression. -#}
{% macro plaudit_inputs_md5(names) -%}
    (select md5(coalesce(string_agg(format('%s %s %s', i.name, to_regclass(i.name)::oid,
        (select count(*) from plaudit.relation_changes as c where c.relation = i.name)), ',' order by i.name), ''))
     from unnest(array[{%- for name in names -%}'{{ name }}'{{ ',' if not loop.last }}{%- endfor -%}]::text[]) as i(name))
{%- endmacro %}

{%- materialization table, adapter='postgres' -%}

  {%- set target_relation = this.incorporate(type='table') -%}
  {%- set fingerprint = 'plaudit table v1 ' ~ local_md5(sql ~ tojson(model['contract']) ~ tojson(model['columns'])) -%}
  {%- set inputs = {} -%}
  {%- do plaudit_table_inputs(model.depends_on.nodes, inputs) -%}

  {%- call statement('fingerprint', fetch_result=True) -%}
    select
      '{{ fingerprint }} inputs ' || {{ plaudit_inputs_md5(inputs.keys() | sort) }} as state,
      (select obj_description(c.oid, 'pg_class')
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where n.nspname = '{{ target_relation.schema }}' and c.relname = '{{ target_relation.identifier }}'
         and c.relkind in ('r', 'p')) as stored
  {%- endcall -%}
  {%- set state, stored = load_result('fingerprint')['data'][0] -%}

  {%- set always = env_var('PLAUDIT_REBUILD_TABLES', 'false') | lower in ('1', 'true', 'yes') -%}
  {%- if stored == state and not should_full_refresh() and not always -%}

    {{ return(plaudit_leave_unchanged(target_relation, pre_hooks, post_hooks)) }}

  {%- endif -%}

  {%- set existing_relation = load_cached_relation(this) -%}
  {%- set intermediate_relation = make_intermediate_relation(target_relation) -%}
  {%- set preexisting_intermediate_relation = load_cached_relation(intermediate_relation) -%}
  {%- set backup_relation_type = 'table' if existing_relation is none else existing_relation.type -%}
  {%- set backup_relation = make_backup_relation(target_relation, backup_relation_type) -%}
  {%- set preexisting_backup_relation = load_cached_relation(backup_relation) -%}
  {% set grant_config = config.get('grants') %}

  {{ drop_relation_if_exists(preexisting_intermediate_relation) }}
  {{ drop_relation_if_exists(preexisting_backup_relation) }}

  {{ run_hooks(pre_hooks, inside_transaction=False) }}

  {{ run_hooks(pre_hooks, inside_transaction=True) }}

  {% call statement('main') -%}
    {{ get_create_table_as_sql(False, intermediate_relation, sql) }}
  {%- endcall %}

  {% do create_indexes(intermediate_relation) %}

  {% if existing_relation is not none %}
    {% set existing_relation = load_cached_relation(existing_relation) %}
    {% if existing_relation is not none %}
        {{ adapter.rename_relation(existing_relation, backup_relation) }}
    {% endif %}
  {% endif %}

  {{ adapter.rename_relation(intermediate_relation, target_relation) }}

  {% call statement('fingerprint_set') -%}
    comment on table {{ target_relation }} is '{{ state }}'
  {%- endcall %}

  {{ run_hooks(post_hooks, inside_transaction=True) }}

  {% set should_revoke = should_revoke(existing_relation, full_refresh_mode=True) %}
  {% do apply_grants(target_relation, grant_config, should_revoke=should_revoke) %}

  {% do persist_docs(target_relation, model) %}

  {{ adapter.commit() }}

  {{ drop_relation_if_exists(backup_relation) }}

  {{ run_hooks(post_hooks, inside_transaction=False) }}

  {{ return({'relations': [target_relation]}) }}

{%- endmaterialization -%}
