-- Every ledger entry the rules call for, up to the night. Entry ids are
-- deterministic: a hash of program, source (feedback or nomination), employee
-- and entry kind. Neither the matched rule nor the program version is part of
-- the id: a corrected score or a re-versioned program maps to the same entry,
-- so nothing can be posted twice (a change to posted points will be a
-- compensating entry). The publish step posts with "on conflict do nothing".

with

points as (

    select * from {{ ref('int_points_computed') }}

)

select
    md5(concat_ws('|',
        '{{ var("program") }}', source_kind, source_id, employee_id, entry_kind
    )) as entry_id,
    '{{ var("program") }}'::text as program,
    version_id,
    employee_id,
    entry_kind,
    source_kind,
    source_id,
    rule_id,
    attribution_weight::numeric(9, 6) as attribution_weight,
    multiplier::numeric(8, 4) as multiplier,
    points::numeric(12, 2) as points,
    {{ period_of('effective_at') }}::char(7) as period,
    effective_at::timestamptz as effective_at
from points
