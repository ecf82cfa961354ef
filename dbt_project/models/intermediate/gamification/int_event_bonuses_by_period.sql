-- Milestones and challenges of every program by period, with their tallies and markers: the rows
-- of int_feedback_event_bonuses_by_period (the feedback's metrics) and of
-- int_served_event_bonuses_by_period (customers served), without the marks each keeps of its own
-- inputs. A view: the tiers read its entries and the time each period was last written
-- (`_built_at`), int_event_bonuses its entries for the night's program. Until 2026-12-06 this was
-- the one table both are now (macros/event_bonuses.sql); a build replaces the old table with this
-- view, and the two tables are built from the first day of all.

{{ config(materialized='view') }}

{% set columns -%}
program, period, entry_id, entry_kind, source_kind, source_id, employee_id, version_id, rule_id,
    attribution_weight, rule_points, multiplier, points, capped_points, channel, feedback_kind, score,
    effective_at, metric, events, entry_day, _built_at
{%- endset %}

select {{ columns }}
from {{ ref('int_feedback_event_bonuses_by_period') }}

union all

select {{ columns }}
from {{ ref('int_served_event_bonuses_by_period') }}
