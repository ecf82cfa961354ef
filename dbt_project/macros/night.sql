{#- The end of the night being processed: feedback strictly before this counts. -#}
{% macro night_end() -%}
    (cast('{{ var("night") }}' as date) + 1)::timestamp at time zone 'UTC'
{%- endmacro %}

{#- The accounting period (YYYY-MM, UTC) of a timestamp. -#}
{% macro period_of(ts) -%}
    to_char({{ ts }} at time zone 'UTC', 'YYYY-MM')
{%- endmacro %}
