-- Every ledger entry the rules call for, up to the night. Entry ids are
-- deterministic (a hash of program, version, source, employee, rule and kind),
-- so the publish step can post them with "insert ... on conflict do nothing":
-- posting the same thing twice is a no-op.

with

points as (

    select * from {{ ref('int_points_computed') }}

)

select
    md5(concat_ws('|',
        '{{ var("program") }}', version_id, source_kind, source_id, employee_id, rule_id, entry_kind
    )) as entry_id,
    '{{ var("program") }}'::text as program,
    version_id,
    employee_id,
    entry_kind,
    source_kind,
    source_id,
    rule_id,
    attribution_weight::numeric(9, 6) as attribution_weight,
    points::numeric(12, 2) as points,
    {{ period_of('effective_at') }}::char(7) as period,
    effective_at::timestamptz as effective_at
from points
