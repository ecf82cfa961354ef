{#- A post-hook that gives this model's table the index `<table>_<suffix>` on `columns`
    (optionally partial, `where`), unless the table already has it.

    Not `create index if not exists`: a full refresh builds the table anew and runs its
    post-hooks while the old table, renamed `__dbt_backup` and dropped after them, still
    holds the index's name, so `if not exists` skipped the new table and the next night
    ran without its indexes (over 10 minutes for int_points_by_source at M). The old
    table's index is dropped here instead: the old table goes a moment later anyway.
    Not dbt's `indexes` config either: it creates indexes only when a table is created
    (an index added later would wait for a full refresh), and has no partial indexes. -#}
{% macro index_on(suffix, columns, where=none) -%}
    {%- set name = this.identifier ~ '_' ~ suffix -%}
    do $plaudit_index$
    begin
        if not exists (
            select 1 from pg_indexes
            where schemaname = '{{ this.schema }}' and tablename = '{{ this.identifier }}' and indexname = '{{ name }}'
        ) then
            drop index if exists "{{ this.schema }}"."{{ name }}";
            create index "{{ name }}" on {{ this }} ({{ columns }}){% if where %} where {{ where }}{% endif %};
        end if;
    end
    $plaudit_index$
{%- endmacro %}

{#- A post-hook that drops the index `<table>_<suffix>` this model no longer keeps (tables built
    before it was given up still have it, and pay for it on every write). -#}
{% macro drop_index_on(suffix) -%}
    drop index if exists "{{ this.schema }}"."{{ this.identifier ~ '_' ~ suffix }}"
{%- endmacro %}
