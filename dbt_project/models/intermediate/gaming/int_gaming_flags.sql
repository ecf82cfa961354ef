-- The night's program's gaming flags (int_gaming_flags_by_day keeps every
-- program's, and a marker row for each day computed again): what the points
-- models and the publish step read.

{{ config(materialized='view') }}

select
    flag_id,
    program,
    flag_kind,
    source_kind,
    source_id,
    employee_id,
    detail
from {{ ref('int_gaming_flags_by_day') }}
where program = '{{ var("program") }}' and flag_id is not null
