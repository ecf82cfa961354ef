{#- What a view or table materialization does with a relation it leaves as it is: the model's
    hooks (its post-hook notes no change: nothing was written), and "UNCHANGED" as dbt's status. -#}
{% macro plaudit_leave_unchanged(target_relation, pre_hooks, post_hooks) -%}
    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    {{ run_hooks(pre_hooks, inside_transaction=True) }}
    {%- call noop_statement('main', 'UNCHANGED ' ~ target_relation, 'UNCHANGED') -%}{%- endcall -%}
    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {{ adapter.commit() }}
    {{ run_hooks(post_hooks, inside_transaction=False) }}
    {{ return({'relations': [target_relation]}) }}
{%- endmacro %}
