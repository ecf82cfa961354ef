{#- The models whose union is int_points_earned, the points after caps first: int_unposted_ledger_entries
    reads the first by period and the others whole when it is incremental. -#}
{% macro points_earned_parts() -%}
    {{ return(['int_points_capped', 'int_streak_bonuses', 'int_event_bonuses', 'int_leaderboard_bonuses']) }}
{%- endmacro %}

{#- The marks of a model that reads the ledger by what was posted since and the night (the
    entries not posted, the corrections, the posted totals), and with `caps` the points after caps
    computed since: scalar queries that stand alone (watermark_ctes' `known`), each through an
    index (the ledger's posted_at, the caps' (program, _built_at)). -#}
{% macro ledger_marks(caps=true) -%}
    {%- set marks = {'ledger_posted_at': 'select max(posted_at) from ' ~ ref('stg_plaudit__ledger_entries')} -%}
    {%- if caps -%}
        {%- do marks.update({'capped_built_at': 'select max(_built_at) from ' ~ ref('int_points_capped_by_period')
            ~ " where program = '" ~ var('program') ~ "'"}) -%}
    {%- endif -%}
    {%- do marks.update({'night_end': 'select ' ~ night_end()}) -%}
    {{ return(marks) }}
{%- endmacro %}

{#- Whether a quarter of the night's program's ledger or more was posted since this model's last
    build (after a first night or a backfill): then comparing or adding the entries posted since
    costs more than computing everything (the corrections at L: 87.7 s against about 15 s). Counted
    through the ledger's posted_at index, and only up to that quarter (at least 10,000 entries:
    below that either path is quick). A night that posts more than 100,000 entries, whatever their
    share, builds these models again before it ends (flows/publish/ledger.py catch_up_due, tag
    ledger_catch_up); a smaller ledger's first night leaves it to the next build, whole and quick. -#}
{% macro much_of_the_ledger_posted_since() -%}
    {%- if not execute or model.resource_type == 'unit_test' -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set quarter = run_query("select greatest(reltuples::bigint / 4, 10000) from pg_class where oid = '"
        ~ source('plaudit', 'ledger_entries') ~ "'::regclass").rows[0][0] -%}
    {%- set since = run_query('select count(*) from (select 1 from ' ~ ref('stg_plaudit__ledger_entries') ~ ' as l'
        ~ " where l.posted_at > coalesce((select _ledger_posted_at from " ~ this ~ " where program = '"
        ~ var('program') ~ "' order by _built_at desc limit 1), '-infinity') limit " ~ (quarter + 1) ~ ') as s').rows[0][0] -%}
    {{ return(since > quarter) }}
{%- endmacro %}

{#- Whether this model's last build (the entries not posted, the corrections, the posted totals)
    was for a later night than this one's: this build then computes the whole model. -#}
{% macro built_for_a_later_night() -%}
    {%- if not execute or model.resource_type == 'unit_test' -%}
        {{ return(false) }}
    {%- endif -%}
    {#- the latest row of the night's program written before the build under way -#}
    {%- set result = run_query('select _night_end > ' ~ night_end() ~ ' from ' ~ this ~ " where program = '"
        ~ var('program') ~ "' and _built_at < now() order by _built_at desc limit 1") -%}
    {{ return(result.rows | length == 1 and result.rows[0][0]) }}
{%- endmacro %}

{#- Whether the ledger holds entries of the night's program from the night's end on (a night run
    again after later nights posted): through the ledger's (program, effective_at) index. -#}
{% macro ledger_has_entries_after_the_night() -%}
    {%- if not execute or model.resource_type == 'unit_test' -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set result = run_query('select exists (select 1 from ' ~ source('plaudit', 'ledger_entries')
        ~ " where program = '" ~ var('program') ~ "' and effective_at >= " ~ night_end() ~ ')') -%}
    {{ return(result.rows[0][0]) }}
{%- endmacro %}

{#- The incremental strategy of int_unposted_ledger_entries (incremental_strategy='unposted_entries'):
    the build's rows (temp_relation) are every entry the rules call for that is not posted, so the
    table ends as they are. A row as it is stored stays (its _built_at too); every other stored row
    goes (it differs, was posted since, or is no longer called for); the build's rows not stored go
    in. So a night that changes nothing writes nothing, and the tables after it are left as they
    are (materializations/table.sql). The marker row is written again when the ledger's or the
    caps' mark moved (the build writes then anyway), so the latest row has those marks. Rows of
    another program (the table holds the night's program's) and rows written before it was
    incremental (no _built_at) go too.

    When what goes and comes is more than half of what is stored (the night after the full night:
    every entry held was posted since), the table is emptied and the build's rows written instead:
    row by row, deleting and inserting that many cost more (at M, 7.6 s against 3.8 s for
    0.7 M entries). -#}
{% macro get_incremental_unposted_entries_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set source = arg_dict['temp_relation'] -%}
    {%- set all_columns = arg_dict['dest_columns'] | map(attribute='name') | list -%}
    {%- set compared = [] -%}
    {%- for c in all_columns if not c.startswith('_') -%}{%- do compared.append(c) -%}{%- endfor -%}
    {#- (the marker row, entry_id '', is the same while the ledger's and the caps' marks are) -#}
    {%- set equal -%}
        ({% for c in compared %}s.{{ c }}{{ ', ' if not loop.last }}{% endfor %})
            is not distinct from ({% for c in compared %}t.{{ c }}{{ ', ' if not loop.last }}{% endfor %})
        and (s.entry_id <> '' or (s._ledger_posted_at, s._capped_built_at)
            is not distinct from (t._ledger_posted_at, t._capped_built_at))
    {%- endset %}
    {#- a stored row t that the build computed as it is -#}
    {%- set same = 'select 1 from ' ~ source ~ ' as s where s.entry_id = t.entry_id and ' ~ equal -%}
    {%- set stored = run_query('select count(*) from ' ~ target).rows[0][0] -%}
    {%- set built = run_query('select count(*) from ' ~ source).rows[0][0] -%}
    {#- the build's rows stored as they are, each looked up by the key (`equal` compares the program) -#}
    {%- set kept = run_query('select count(*) from ' ~ source ~ ' as s where exists (select 1 from ' ~ target
        ~ ' as t where t.entry_id = s.entry_id and t._built_at is not null and ' ~ equal ~ ')').rows[0][0] -%}
    {% if (stored - kept) + (built - kept) > stored / 2 and stored > 0 -%}
    truncate {{ target }};
    insert into {{ target }} ({{ all_columns | join(', ') }})
    select {{ all_columns | join(', ') }} from {{ source }}
    order by entry_id
    {%- else -%}
    delete from {{ target }} as t where t._built_at is null or not exists ({{ same }});
    insert into {{ target }} ({{ all_columns | join(', ') }})
    select {{ all_columns | join(', ') }} from {{ source }} as s
    where not exists (select 1 from {{ target }} as t where t.entry_id = s.entry_id)
    order by s.entry_id
    {%- endif %}
{%- endmacro %}
