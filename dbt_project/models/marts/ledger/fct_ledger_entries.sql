-- Every ledger entry the rules call for, up to the night. Entry ids are
-- deterministic: a hash of program, program version, source (feedback or
-- nomination), employee and entry kind. The matched rule is not part of the
-- id, so a corrected score maps to the same entry and can never be posted
-- twice; the publish step posts with "insert ... on conflict do nothing".

with

points as (

    select * from {{ ref('int_points_computed') }}

)

select
    md5(concat_ws('|',
        '{{ var("program") }}', version_id, source_kind, source_id, employee_id, entry_kind
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
