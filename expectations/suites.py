"""Great Expectations suites on the marts, as code.

Thresholds that depend on the run (the night, the program's maximum award)
are expectation parameters, filled in by the checkpoint.
"""

from __future__ import annotations

from typing import Any

# (schema, table) → suite; built lazily because `import great_expectations` costs seconds.
# The ledger suite validates the entries the night would post (a view over the entries the build
# found not posted): the posted ones cannot change, and validating all of them cost 15 to 49 s a
# night at L.
TABLES = {
    "ledger_entries": ("marts", "fct_ledger_entries_to_post"),
    "award_proposals": ("marts", "fct_award_proposals"),
}


ENTRY_KINDS = [
    "feedback_points", "nomination_points", "comment_named_bonus", "streak_bonus", "milestone",
    "challenge_bonus", "leaderboard_bonus", "tier_bonus", "correction", "reversal",
]


def build_suites() -> dict[str, Any]:
    import great_expectations as gx

    e = gx.expectations
    return {
        "ledger_entries": gx.ExpectationSuite(
            name="ledger_entries",
            expectations=[
                e.ExpectColumnValuesToNotBeNull(column="entry_id"),
                e.ExpectColumnValuesToBeUnique(column="entry_id"),
                e.ExpectColumnValuesToNotBeNull(column="employee_id"),
                e.ExpectColumnValuesToNotBeNull(column="points"),
                # what a cap held back is recorded, never negative
                e.ExpectColumnValuesToBeBetween(column="capped_points", min_value=0),
                e.ExpectColumnValuesToBeInSet(column="entry_kind", value_set=ENTRY_KINDS),
                e.ExpectColumnValuesToBeBetween(
                    column="attribution_weight", min_value=0, max_value=1, strict_min=True
                ),
                # Nothing from the future: feedback after the night must not be counted.
                # (Per value, not the column's max: a night with no entries at all passes.)
                e.ExpectColumnValuesToBeBetween(
                    column="effective_at", max_value={"$PARAMETER": "night_end"}, strict_max=True
                ),
            ],
        ),
        "award_proposals": gx.ExpectationSuite(
            name="award_proposals",
            expectations=[
                e.ExpectColumnValuesToBeUnique(column="award_id"),
                e.ExpectColumnValuesToNotBeNull(column="employee_id"),
                # A single award above the program's max_award is a data error, not a payout.
                e.ExpectColumnValuesToBeBetween(
                    column="amount_minor", min_value=1, max_value={"$PARAMETER": "max_award_minor"}
                ),
                e.ExpectColumnValuesToBeInSet(
                    column="proposed_status", value_set=["approved", "pending", "deferred"]
                ),
            ],
        ),
    }
