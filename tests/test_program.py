from pathlib import Path

import pytest

from plaudit import program
from plaudit.errors import ProgramError

ROOT = Path(__file__).resolve().parents[1]

VALID = """\
program: t
title: T
effective_from: 2026-01-01
currency: EUR
points:
  - {rule: csat_5, kind: csat, scores: [5, 5], points: 10}
awards:
  value_per_point: "0.50"
  auto_approve_up_to: "10.00"
  max_award: "100.00"
budget:
  monthly: "100.00"
"""


def problems(tmp_path: Path, text: str) -> list[str]:
    f = tmp_path / "p.yml"
    f.write_text(text)
    with pytest.raises(ProgramError) as exc:
        program.load(f)
    assert str(f) in str(exc.value)
    return exc.value.problems


def test_demo_program_is_valid_and_its_version_is_stable():
    p = program.load(ROOT / "programs" / "demo.yml")
    assert p.attribution.model in program.ATTRIBUTION_MODELS
    assert p.version_id == program.load(ROOT / "programs" / "demo.yml").version_id
    assert p.minor(p.awards.value_per_point * 100) == 1000


def test_unknown_key_names_file_line_and_field(tmp_path):
    [msg] = problems(tmp_path, VALID + "colour: red\n")
    assert msg.endswith("colour: unknown key (check the spelling; see docs/programs.md for the keys)")
    assert ":13: " in msg


def test_overlapping_bands_are_an_error(tmp_path):
    text = VALID.replace(
        "  - {rule: csat_5, kind: csat, scores: [5, 5], points: 10}",
        "  - {rule: csat_5, kind: csat, scores: [5, 5], points: 10}\n  - {rule: csat_45, kind: csat, scores: [4, 5], points: 5}",
    )
    [msg] = problems(tmp_path, text)
    assert "overlap" in msg and "csat_5" in msg and "csat_45" in msg


def test_band_outside_the_scale_names_the_line(tmp_path):
    [msg] = problems(tmp_path, VALID.replace("scores: [5, 5]", "scores: [5, 6]"))
    assert ":6: points.0: " in msg and "outside the csat scale 1–5" in msg


def test_float_money_and_negative_budget_are_refused(tmp_path):
    text = VALID.replace('value_per_point: "0.50"', "value_per_point: 0.5").replace('monthly: "100.00"', 'monthly: "-1"')
    found = problems(tmp_path, text)
    assert any("awards.value_per_point" in p and "quoted decimal" in p and ":8:" in p for p in found)
    assert any("budget.monthly" in p and "greater than or equal to 0" in p and ":12:" in p for p in found)


def test_not_yaml(tmp_path):
    [msg] = problems(tmp_path, "program: [unclosed\n")
    assert "not valid YAML" in msg


@pytest.mark.parametrize(
    ("attribution", "message"),
    [
        ('{model: role_weighted, role_weights: {owner: "0.7", assist: "0.2"}}', "role_weights sum to 0.9, not 1"),
        ('{model: role_weighted, role_weights: {owner: "0.5", cook: "0.5"}}', "unknown role(s) cook in role_weights"),
        ("{model: role_weighted}", "role_weighted attribution needs `role_weights`"),
        ("{model: time_decay}", "time_decay attribution needs `half_life_hours`"),
        ('{model: linear, half_life_hours: "24"}', "`half_life_hours` only applies to time_decay"),
        ("{model: random}", "Input should be 'last_touch', 'first_touch', 'linear', 'role_weighted' or 'time_decay'"),
    ],
)
def test_attribution_settings_are_checked(tmp_path, attribution, message):
    [msg] = problems(tmp_path, VALID + f"attribution: {attribution}\n")
    assert ":13: attribution" in msg and message in msg


def test_valid_attribution_models_load(tmp_path):
    for attribution in ('{model: role_weighted, role_weights: {owner: "0.7", assist: "0.3"}}',
                        '{model: time_decay, half_life_hours: "48"}', "{model: first_touch}"):
        f = tmp_path / "ok.yml"
        f.write_text(VALID + f"attribution: {attribution}\n")
        assert program.load(f).attribution.model in program.ATTRIBUTION_MODELS


def test_keys_left_at_their_defaults_do_not_change_the_version(tmp_path):
    plain, explicit = tmp_path / "plain.yml", tmp_path / "explicit.yml"
    plain.write_text(VALID)
    explicit.write_text(VALID + "multipliers: []\nattribution: {model: last_touch}\n")
    assert program.load(plain).version_id == program.load(explicit).version_id
    changed = tmp_path / "changed.yml"
    changed.write_text(VALID + "attribution: {model: linear}\n")
    assert program.load(changed).version_id != program.load(plain).version_id


@pytest.mark.parametrize(
    ("multipliers", "message"),
    [
        ('[{name: dec, factor: "2", from: 2026-12-31, to: 2026-12-01}]', "from 2026-12-31 is after to 2026-12-01"),
        ('[{name: fax, factor: "2", channels: [fax]}]', "unknown channel(s) fax"),
        ("[{name: dec, factor: 2.5}]", "quoted decimal"),
        ('[{name: dec, factor: "0"}]', "greater than 0"),
        ('[{name: dec, factor: "2"}, {name: dec, factor: "3"}]', "multiplier name(s) used twice: dec"),
    ],
)
def test_multipliers_are_checked(tmp_path, multipliers, message):
    found = problems(tmp_path, VALID + f"multipliers: {multipliers}\n")
    assert any(message in p for p in found), found


def test_a_valid_multiplier_loads():
    import yaml

    data = yaml.safe_load(VALID)
    data["multipliers"] = [{"name": "december", "factor": "2", "from": "2026-12-01", "to": "2026-12-31",
                            "channels": ["whatsapp", "sms"]}]
    m = program.Program.model_validate(data).multipliers[0]
    assert (m.factor, str(m.from_), m.channels) == (program.Decimal("2"), "2026-12-01", ["whatsapp", "sms"])


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("negative_points: false\n", None),
        ("caps: {per_day: \"50\", per_month: \"40\"}\n", "caps.per_day 50 is above caps.per_month 40"),
        ("caps: {per_day: 50.5}\n", "write money as a quoted decimal"),
        ("tiers:\n  - {name: Gold, min_points: \"300\"}\n  - {name: Silver, min_points: \"150\"}\n",
         "tiers: list them from lowest to highest"),
        ("streaks:\n  - {name: s, days: 1, points: \"5\"}\n", "days: Input should be greater than or equal to 2"),
        ("milestones:\n  - {name: m, metric: smiles, at: 10, points: \"5\"}\n", "milestones.0.metric"),
        ("challenges:\n  - {name: c, period: 2026-13, metric: positive_feedback, goal: 3, points: \"5\"}\n",
         "challenges.0.period"),
        ("streaks:\n  - {name: s, days: 3, points: \"5\"}\n  - {name: s, days: 5, points: \"9\"}\n",
         "streak name(s) used twice: s"),
        ("attribution: {comment_names: bonus}\n", "add a points rule of kind `comment_named`"),
        ("fairness: {baseline: team}\n", "fairness.baseline"),
    ],
)
def test_rules_engine_sections_are_checked(tmp_path, extra, expected):
    if expected is None:
        f = tmp_path / "p.yml"
        f.write_text(VALID + extra)
        program.load(f)
        return
    msgs = problems(tmp_path, VALID + extra)
    assert any(expected in m for m in msgs), msgs


def test_negative_points_need_the_program_to_allow_them(tmp_path):
    text = VALID.replace(
        "  - {rule: csat_5, kind: csat, scores: [5, 5], points: 10}",
        "  - {rule: csat_5, kind: csat, scores: [5, 5], points: 10}\n  - {rule: csat_1, kind: csat, scores: [1, 1], points: \"-2\"}",
    )
    [msg] = problems(tmp_path, text)
    assert "csat_1 give negative points" in msg and "negative_points: true" in msg
    f = tmp_path / "ok.yml"
    f.write_text(text + "negative_points: true\n")
    assert program.load(f).points[1].points == -2


def test_the_demo_program_uses_every_rule_kind():
    """The demo exercises each feature of the rules engine at least once (issue 4)."""
    p = program.load(ROOT / "programs" / "demo.yml")
    kinds = {r.kind for r in p.points}
    assert kinds >= {"csat", "nps", "ces", "stars", "thumbs", "nomination"}
    assert p.attribution.comment_names != "off"
    assert p.multipliers and p.caps.per_day and p.caps.per_month and p.fairness.bonus
    assert p.streaks and p.milestones and p.challenges and p.tiers
    assert {m.metric for m in p.milestones} >= {"five_star_ratings", "customers_served"}


def test_every_mart_and_its_columns_are_described_and_contracted():
    """Marts the flows read carry enforced contracts and a description for every column."""
    import yaml

    models = {}
    for f in (ROOT / "dbt_project" / "models" / "marts").rglob("_*__models.yml"):
        for m in yaml.safe_load(f.read_text()).get("models", []):
            models[m["name"]] = m
    sql_models = {f.stem for f in (ROOT / "dbt_project" / "models" / "marts").rglob("*.sql")}
    assert sql_models == set(models), "every mart needs an entry in a _*__models.yml"
    for name, m in models.items():
        assert m.get("description"), name
        assert m.get("config", {}).get("contract", {}).get("enforced") is True, f"{name}: contract not enforced"
        undescribed = [c["name"] for c in m["columns"] if not c.get("description")]
        assert undescribed == [], f"{name}: {undescribed}"
