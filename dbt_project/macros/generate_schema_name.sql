{#- Models land in the schema their folder names (staging, intermediate, marts),
    not in "<target schema>_<custom>": the flows and GX read fixed schemas.
    `plaudit program diff` sets the var schema_prefix to compute into throwaway
    schemas (diff_<id>_marts, ...) without touching the nightly ones. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- set prefix = var('schema_prefix', '') -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ prefix }}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
