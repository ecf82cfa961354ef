"""Realistic demo exports, deterministic by seed, written as a stream.

Employees (teams, managers, cost centres, locales, a few terminated), B2B and
B2C accounts, interactions with participants in roles, CSAT, NPS, CES, stars
and thumbs responses with comments (some naming the employee who served, by
first or full name, a few naming a team-mate instead) and a few customer
nominations. Only
the employee roster is held in memory; interactions and feedback are written
day by day, so millions of rows take flat memory.
"""

from __future__ import annotations

import csv
import random
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

FIRST_NAMES = [
    "Marie", "Lucas", "Aisha", "Tomasz", "Sofia", "Jonas", "Priya", "Mateo", "Chloé", "Noah",
    "Elif", "Kenji", "Amara", "Felix", "Ingrid", "Omar", "Léa", "Diego", "Hannah", "Yusuf",
    "Grace", "Malik", "Zoé", "Henrik", "Nadia", "Pablo", "Emma", "Ravi", "Clara", "Sven",
]
LAST_NAMES = [
    "Dubois", "Müller", "Okafor", "Nowak", "Rossi", "Schmidt", "Patel", "García", "Lefèvre", "Jansen",
    "Yilmaz", "Tanaka", "Mensah", "Weber", "Larsen", "Haddad", "Moreau", "López", "Fischer", "Demir",
]
TEAMS = [
    ("Support Lyon", "customer_service", "Lyon", "fr", "CC-110"),
    ("Tech Support Berlin", "tech_support", "Berlin", "de", "CC-120"),
    ("Store Amsterdam", "retail_floor", "Amsterdam", "en", "CC-210"),
    ("Key Accounts London", "account_management", "London", "en", "CC-310"),
    ("Support Dublin", "customer_service", "Dublin", "en", "CC-111"),
    ("Back Office Lyon", "back_office", "Lyon", "fr", "CC-900"),
]
ACCOUNTS = [
    ("Northwind Traders", "0.5000", "300.00"), ("Contoso Retail", None, None),
    ("Fabrikam Health", "0.2500", "150.00"), ("Tailspin Travel", None, None),
    ("Wide World Importers", None, None), ("Adventure Works", "0.5000", "80.00", "GBP"),
    ("Litware Clinics", None, None), ("Proseware Logistics", None, None),
]
CHANNELS = ["email", "sms", "whatsapp", "in_app", "web", "phone", "qr_kiosk"]
POSITIVE = [
    "{name} sorted it out in minutes, thank you!",
    "Really patient and kind. {name} explained everything.",
    "Great service from {name} — above & beyond.",
    "Merci à {name}, très professionnel.",
    "Fast, friendly, fixed. <3",
    "Best support I've had in years.",
    "Problem solved on the first call.",
    "{name} followed up the next day without me asking. Impressive.",
    "Please thank {full} for the patience.",
]
NEUTRAL = ["It took a while but it works now.", "OK.", "Fine, nothing special."]
NEGATIVE = [
    "Waited 40 minutes and nobody called back.",
    "Had to explain my issue three times.",
    "Still broken. Call me on +44 20 7946 0958 or mail me at angry.customer@example.com",
]


@dataclass(frozen=True)
class Employee:
    employee_id: str
    first_name: str
    full_name: str
    team: str
    role: str
    location: str
    locale: str
    cost_centre: str
    manager_id: str
    status: str
    terminated_on: date | None


SCORE_WEIGHTS = {
    "csat": ([1, 2, 3, 4, 5], [5, 7, 13, 30, 45]),
    "stars": ([1, 2, 3, 4, 5], [4, 6, 12, 28, 50]),
    "nps": (list(range(11)), [2, 1, 1, 2, 2, 4, 6, 10, 18, 24, 30]),
    "ces": ([1, 2, 3, 4, 5, 6, 7], [3, 4, 6, 10, 17, 30, 30]),
    "thumbs": ([0, 1], [18, 82]),
}
GOOD_FROM = {"csat": 4, "stars": 4, "nps": 9, "ces": 6, "thumbs": 1}
BAD_UP_TO = {"csat": 2, "stars": 2, "nps": 6, "ces": 3, "thumbs": 0}


def _score(rng: random.Random, kind: str) -> tuple[int, bool, bool]:
    """A score on the kind's scale, and whether it is good (a promoter) or bad (a detractor)."""
    values, weights = SCORE_WEIGHTS[kind]
    score = rng.choices(values, weights)[0]
    return score, score >= GOOD_FROM[kind], score <= BAD_UP_TO[kind]


def _ascii(name: str) -> str:
    """Email local parts are ASCII: Léa → lea."""
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()


def _writer(out: Path, name: str, header: list[str]):  # type: ignore[no-untyped-def]
    f = (out / name).open("w", encoding="utf-8", newline="")
    w = csv.writer(f)
    w.writerow(header)
    return f, w


def generate(
    out: Path,
    *,
    employees: int = 60,
    days: int = 33,
    seed: int = 7,
    start: date = date(2026, 10, 1),
    interactions_per_agent_day: float = 4.0,
    on_day: Callable[[int], None] | None = None,
    first_id: int = 0,
) -> dict[str, int]:
    """Write the six exports into `out`; return rows written per file."""
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    counts = {k: 0 for k in ("employees", "accounts", "exchange_rates", "interactions", "participants", "feedback",
                             "nominations")}
    extra = random.Random(seed + 1)  # for what was added later, so the rest of the data stays as it was
    end = start + timedelta(days=days)

    # --- employees: a head of CX, a lead per team, agents under the leads
    roster: list[Employee] = []
    head = Employee("E0001", "Grace", "Grace Hopper-Lind", "CX Leadership", "head_of_cx", "London", "en",
                    "CC-001", "", "active", None)
    roster.append(head)
    # Up to 60 people: one team per 8 of the six named teams (the demo's roster). Beyond that, teams of
    # about ten, as real teams are: the six again and again, numbered ("Support Lyon 2").
    n_teams = max(1, min(len(TEAMS), employees // 8)) if employees <= 60 else employees // 10
    leads = []
    for t in range(n_teams):
        team, role, loc, locale, cc = TEAMS[t % len(TEAMS)]
        if t >= len(TEAMS):
            team = f"{team} {t // len(TEAMS) + 1}"
        first = FIRST_NAMES[(t * 7) % len(FIRST_NAMES)]
        lead = Employee(f"E{len(roster) + 1:04d}", first, f"{first} {LAST_NAMES[(t * 3) % len(LAST_NAMES)]}",
                        team, "team_lead", loc, locale, cc, head.employee_id, "active", None)
        roster.append(lead)
        leads.append((lead, (team, role, loc, locale, cc)))
    while len(roster) < employees:
        lead, (team, role, loc, locale, cc) = leads[(len(roster)) % len(leads)]
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        terminated = rng.random() < 0.05
        term_on = start + timedelta(days=rng.randrange(max(days, 1))) if terminated else None
        roster.append(Employee(f"E{len(roster) + 1:04d}", first, f"{first} {last}", team, role, loc, locale, cc,
                               lead.employee_id, "terminated" if terminated else "active", term_on))
    f, w = _writer(out, "employees.csv", ["employee_id", "full_name", "email", "locale", "manager_id", "team",
                                           "cost_centre", "role", "location", "hire_date", "status", "terminated_on"])
    with f:
        for e in roster:
            email = f"{e.employee_id.lower()}.{_ascii(e.first_name)}@staff.plaudit-demo.example"
            hired = date(2019, 1, 7) + timedelta(days=rng.randrange(2000))
            w.writerow([e.employee_id, e.full_name, email, e.locale, e.manager_id, e.team, e.cost_centre, e.role,
                        e.location, hired.isoformat(), e.status, e.terminated_on.isoformat() if e.terminated_on else ""])
            counts["employees"] += 1

    # --- accounts: named B2B accounts (some co-fund rewards) and one consumer account
    f, w = _writer(out, "accounts.csv", ["account_id", "account_name", "segment", "co_funding_share",
                                          "co_funding_monthly_cap", "currency"])
    domains: dict[str, str] = {}
    with f:
        account_ids = []
        for i, (name, share, cap, *currency) in enumerate(ACCOUNTS, start=1):
            aid = f"A{i:03d}"
            account_ids.append(aid)
            domains[aid] = name.lower().replace(" ", "-") + ".example"
            w.writerow([aid, name, "b2b", share or "", cap or "", (currency or ["EUR"])[0] if share else ""])
            counts["accounts"] += 1
        w.writerow(["A900", "Consumers", "b2c", "", "", ""])
        counts["accounts"] += 1

    # --- exchange rates for the co-funding account that pays in pounds: the first of each month
    f, w = _writer(out, "exchange_rates.csv", ["rate_date", "from_currency", "to_currency", "rate"])
    with f:
        month = start.replace(day=1)
        while month < end:
            w.writerow([month.isoformat(), "EUR", "GBP", f"{extra.uniform(0.84, 0.88):.4f}"])
            counts["exchange_rates"] += 1
            month = (month + timedelta(days=32)).replace(day=1)

    # --- interactions, participants, feedback, nominations: streamed day by day
    agents = [e for e in roster if e.role not in ("head_of_cx", "team_lead")]
    fi, wi = _writer(out, "interactions.csv", ["interaction_id", "account_id", "customer_id", "interaction_kind",
                                                "channel", "queue", "opened_at", "closed_at"])
    fp, wp = _writer(out, "participants.csv", ["interaction_id", "employee_id", "participant_role", "touched_at"])
    ff, wf = _writer(out, "feedback.csv", ["response_id", "interaction_id", "employee_id", "feedback_kind", "score",
                                            "comment", "channel", "responded_at", "customer_email"])
    fn, wn = _writer(out, "nominations.csv", ["nomination_id", "employee_id", "account_id", "customer_id", "reason",
                                               "channel", "nominated_at", "customer_email"])
    with fi, fp, ff, fn:
        seq = first_id  # ids of events: a later batch (e.g. one more day) starts past the earlier ones
        day = start
        while day < end:
            if day.weekday() < 6:  # closed on Sundays
                working = [a for a in agents if a.terminated_on is None or a.terminated_on > day]
                by_team: dict[str, list[Employee]] = {}
                for a in working:
                    by_team.setdefault(a.team, []).append(a)
                n = int(len(working) * interactions_per_agent_day * rng.uniform(0.8, 1.2))
                for _ in range(n):
                    seq += 1
                    owner = rng.choice(working)
                    iid = f"T{seq:08d}"
                    b2b = rng.random() < 0.45
                    account = rng.choice(account_ids) if b2b else "A900"
                    customer = f"C{rng.randrange(1, 40 * len(roster) + 1):06d}"
                    kind = {"retail_floor": "visit", "account_management": "case"}.get(owner.role, rng.choice(["ticket", "call", "chat"]))
                    channel = rng.choice(CHANNELS)
                    opened = datetime(day.year, day.month, day.day, 8, tzinfo=UTC) + timedelta(minutes=rng.randrange(600))
                    closed = opened + timedelta(minutes=rng.randrange(5, 240))
                    wi.writerow([iid, account, customer, kind, channel, f"{owner.team} queue", opened.isoformat(timespec="seconds"), closed.isoformat(timespec="seconds")])
                    counts["interactions"] += 1
                    wp.writerow([iid, owner.employee_id, "owner", (opened + timedelta(minutes=2)).isoformat(timespec="seconds")])
                    counts["participants"] += 1
                    if rng.random() < 0.25:
                        helper = rng.choice(working)
                        if helper != owner:
                            wp.writerow([iid, helper.employee_id, "assist", (opened + timedelta(minutes=rng.randrange(3, 120))).isoformat(timespec="seconds")])
                            counts["participants"] += 1
                    if rng.random() < 0.35:
                        responded = closed + timedelta(hours=rng.uniform(0.5, 30))
                        fkind = rng.choices(["csat", "nps", "ces", "stars", "thumbs"], [50, 20, 10, 10, 10])[0]
                        score, good, bad = _score(rng, fkind)
                        comment = ""
                        if rng.random() < 0.45:
                            pool = POSITIVE if good else (NEGATIVE if bad else NEUTRAL)
                            named = owner
                            if good and rng.random() < 0.08:  # the customer remembers a team-mate instead
                                named = rng.choice(by_team[owner.team])
                            comment = rng.choice(pool).format(name=named.first_name, full=named.full_name)
                        # Most customers leave an address (stored only as a keyed hash); now and then
                        # an employee rates their own ticket from their staff address.
                        email = f"{customer.lower()}@customers.plaudit-demo.example" if rng.random() < 0.7 else ""
                        if rng.random() < 0.004:
                            email = f"{owner.employee_id.lower()}.{_ascii(owner.first_name)}@staff.plaudit-demo.example"
                        wf.writerow([f"R{seq:08d}", iid, "", fkind, score, comment, channel,
                                     responded.isoformat(timespec="seconds"), email])
                        counts["feedback"] += 1
                    if rng.random() < 0.006:
                        # customers of a B2B account write from its domain; consumers from a few mail providers
                        domain = domains.get(account) or f"mail{int(customer[1:]) % 4}.example"
                        wn.writerow([f"N{seq:08d}", owner.employee_id, account, customer,
                                     f"{owner.first_name} went out of their way to help our team.", "web",
                                     (closed + timedelta(hours=rng.uniform(1, 48))).isoformat(timespec="seconds"),
                                     f"{customer.lower()}@{domain}"])
                        counts["nominations"] += 1
            if day == start + timedelta(days=9) and working:
                # a nomination ring: friends of one agent, all at one company, nominate them in one afternoon
                friend_of = extra.choice(working)
                for k in range(3):
                    wn.writerow([f"NR{seq:08d}{k}", friend_of.employee_id, "", f"C9{k:05d}",
                                 f"{friend_of.first_name} is simply the best!", "web",
                                 datetime(day.year, day.month, day.day, 15 + k, tzinfo=UTC).isoformat(timespec="seconds"),
                                 f"fan{k}@fans-of-{_ascii(friend_of.first_name).lower()}.example"])
                    counts["nominations"] += 1
            day += timedelta(days=1)
            if on_day:
                on_day(1)
    return counts
