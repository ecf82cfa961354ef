"""The recognition email and the period report, opened in headless Chromium.

Debian's chromium is installed by this test's setup where it is missing (as
root, with apt-get); where it cannot be installed the tests are skipped with
the reason. Playwright drives the system browser: nothing is downloaded.
"""

from __future__ import annotations

import email
import email.policy
import os
import shutil
import subprocess
from datetime import date

import pytest

CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _chromium() -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return None
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, timeout=300)
    subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], env=env, capture_output=True, timeout=600)
    return shutil.which("chromium")


@pytest.fixture(scope="session")
def browser():
    path = _chromium()
    if path is None:
        pytest.skip("chromium is not installed and could not be installed (needs root and apt-get)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=CHROMIUM_FLAGS)
        yield b
        b.close()


def open_page(browser, url: str):
    page = browser.new_page(viewport={"width": 1000, "height": 1400})
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(("file:", "data:", "about:")) else None)
    page.goto(url)
    return page, outside


def test_the_recognition_email_and_the_report_show_their_main_elements(e2e, browser, tmp_path):
    from flows.nightly import nightly
    from flows.publish.report import write

    url, emails_dir, _ = e2e
    nightly(night=date(2026, 10, 31), program="e2e")

    [eml] = emails_dir.glob("*.eml")
    msg = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    html_file = tmp_path / "email.html"
    html_file.write_text(msg.get_body(("html",)).get_content(), encoding="utf-8")
    page, outside = open_page(browser, html_file.as_uri())
    heading = page.locator("h1")
    assert heading.is_visible() and heading.inner_text() == "Bob, vos clients l’ont remarqué."
    assert page.locator("blockquote").first.is_visible()
    assert "<script>" in page.locator("blockquote").first.inner_text()  # shown as text, never run
    assert page.locator("table[width='600']").bounding_box()["width"] <= 600
    page.screenshot(path=str(tmp_path / "email.png"), full_page=True)
    phone = browser.new_page(viewport={"width": 375, "height": 800})
    phone.goto(html_file.as_uri())
    assert phone.locator("h1").bounding_box()["width"] <= 375  # readable on a phone: no sideways scroll
    assert outside == []

    report = write(url, "e2e", "2026-10", tmp_path / "report.html")
    page, outside = open_page(browser, report.as_uri())
    assert page.locator("h1").inner_text() == "Test Heroes · October 2026"
    for section in ("#kpis", "#participation", "#distribution", "#budget", "#funding", "#csat", "#words"):
        assert page.locator(section).is_visible(), section
    chart = page.locator("#chart-distribution")
    box = chart.bounding_box()
    assert box["width"] > 300 and box["height"] > 100
    assert chart.locator("rect").count() == 6
    assert page.locator("#kpis").inner_text().count("%") == 2
    kpis = page.locator("#kpis").inner_text()
    # covered: A1, B1 and T1 (customer service; T1 worked until 10-10); C1 is back office
    assert "2 of 3 employees earned points" in kpis and "22.50 EUR of 1,000.00 EUR" in kpis
    # B1's approved 7.50: ACME co-funds floor(750 × 5/15 × 0.5) = 1.25, the company 6.25
    funding = page.locator("#funding-split").inner_text()
    assert "Company budget\t1\t6.25 EUR" in funding and "Acme Corp\t1\t1.25 EUR" in funding, funding
    assert page.locator("#chart-funding rect").count() == 2
    words = page.locator("#words").inner_text()
    assert "<script>alert('x')</script> Bob was great & kind" in words  # customer text shown as text
    assert page.locator("script").count() == 0  # and never run
    assert "7946" not in words and "[phone removed]" in words
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert (tmp_path / "report.png").stat().st_size > 10_000
    assert outside == []
