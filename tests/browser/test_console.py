"""The web console in a real headless Chromium (Debian's ``chromium``, driven by Playwright).

Every test signs in through the console's own form, works against a real ``ionstack serve``
with a worker, and compares what the page shows with what the API answers. Screenshots are
saved to ``console-screenshots`` under ``$ARTIFACTS_DIR`` (default: pytest's base temp
directory); the path is printed.

SQLite only: the console reads the same /v0.4 API that the integration tests run on both
databases.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright

from support.server import BOOTSTRAP_KEY, Server, cli_json, submit, wait_for_job

SERVER_WORKERS = 1
#: emulated QPU jobs take their predicted duration: long enough to cancel one from the console
SERVER_ENV = {"IONSTACK_EMULATE_QPU_DURATION": "true"}
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BELL = [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}]

pytestmark = pytest.mark.parametrize("server", ["sqlite"], indirect=True)

if shutil.which(CHROMIUM) is None:  # scripts/install --test installs it; never a silent skip
    raise RuntimeError(f"{CHROMIUM} is missing: run scripts/install --test")


def _job(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "ionq.circuit.v1",
        "backend": "simulator",
        "shots": 1000,
        "input": {"gateset": "qis", "qubits": 2, "circuit": BELL},
    }
    body.update(changes)
    return body


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    configured = os.environ.get("ARTIFACTS_DIR")
    base = Path(configured) if configured else tmp_path_factory.getbasetemp()
    path = base / "console-screenshots"
    path.mkdir(parents=True, exist_ok=True)
    print(f"\nconsole screenshots: {path}")
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, server: Server) -> Iterator[Page]:
    """A fresh browser tab (laptop-sized) on the console; fails the test on any console error,
    which includes every Content-Security-Policy violation."""
    context = browser.new_context(
        viewport={"width": 1366, "height": 860}, base_url=server.root, color_scheme="light"
    )
    tab = context.new_page()
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(message.text)

    tab.on("console", on_console)
    tab.on("pageerror", lambda error: problems.append(str(error)))
    tab.set_default_timeout(30_000)
    yield tab
    context.close()
    # refused keys (401) and a member's usage request (403) are the only expected errors
    unexpected = [p for p in problems if not re.search(r"status of 40[13]\b", p)]
    assert unexpected == [], unexpected


def _sign_in(page: Page, key: str = BOOTSTRAP_KEY) -> None:
    page.goto("/console")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Jobs", level=1)).to_be_visible()


def _nav(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name).click()


def _row(page: Page, job_id: str) -> Any:
    return page.locator(f'#jobs-table tr[data-job-id="{job_id}"]')


# --- sign-in -------------------------------------------------------------------------------------


def test_sign_in_by_keyboard_keeps_the_key_out_of_urls(page: Page, artifacts: Path) -> None:
    page.goto("/console")
    key_field = page.get_by_label("API key")
    expect(key_field).to_be_focused()  # ready to type: no mouse needed
    page.screenshot(path=str(artifacts / "signin.png"))
    page.keyboard.type("isk_not_a_real_key")
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("not accepted")
    expect(page.get_by_role("navigation", name="Main")).to_be_hidden()

    key_field.fill(BOOTSTRAP_KEY)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Jobs", level=1)).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('ionstack.apiKey')") == BOOTSTRAP_KEY
    assert page.evaluate("localStorage.length") == 0
    assert BOOTSTRAP_KEY not in page.url

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("API key")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('ionstack.apiKey')") is None


def test_a_revoked_key_returns_to_sign_in(page: Page) -> None:
    _sign_in(page)
    # the key the console holds becomes invalid: the next API call's 401 signs the person out
    page.evaluate("sessionStorage.setItem('ionstack.apiKey', 'isk_revoked_meanwhile')")
    _nav(page, "Sessions")
    expect(page.get_by_role("alert")).to_contain_text("refused the key")
    expect(page.get_by_label("API key")).to_be_visible()


# --- jobs ----------------------------------------------------------------------------------------


def test_submitted_job_completes_in_the_list_and_its_chart_renders(
    page: Page, client: httpx.Client, artifacts: Path
) -> None:
    _sign_in(page)
    job_id = submit(client, _job(name="bell-console", noise={"model": "aria-1", "seed": 7}))
    # live refresh: the row appears and turns completed without reloading the page
    expect(_row(page, job_id)).to_have_attribute("data-status", "completed", timeout=60_000)
    expect(_row(page, job_id).get_by_role("link")).to_have_text("bell-console")
    page.screenshot(path=str(artifacts / "jobs.png"))

    _row(page, job_id).get_by_role("link").click()
    expect(page.get_by_role("heading", name=re.compile("bell-console"))).to_be_visible()
    expect(page.locator("#job-id")).to_have_text(job_id)

    histogram = client.get(f"/jobs/{job_id}/results/histogram").json()
    bars = page.locator("#results svg rect.bar")
    expect(bars).to_have_count(len(histogram))
    labels = {format(int(k), "02b"): v for k, v in histogram.items()}
    assert labels.keys() >= {"00", "11"}  # a noisy Bell state: mostly 00 and 11
    shown = dict(
        zip(
            bars.evaluate_all("(rects) => rects.map((r) => r.dataset.label)"),
            bars.evaluate_all("(rects) => rects.map((r) => r.getBBox().height)"),
            strict=True,
        )
    )
    assert shown.keys() == labels.keys()
    # bar heights are proportional to the counts the API reports
    tallest = max(labels, key=lambda k: labels[k])
    for label, count in labels.items():
        assert shown[label] / shown[tallest] == pytest.approx(count / labels[tallest], rel=1e-6)
    table_counts = page.locator("#results table tbody tr").evaluate_all(
        "(rows) => rows.map((r) => [r.cells[0].textContent, r.cells[1].textContent])"
    )
    assert {bits: int(text.replace(",", "")) for bits, text in table_counts} == labels

    cost = client.get(f"/jobs/{job_id}/cost").json()
    assert cost["cost"]["value"] == 0  # the simulator is free
    expect(page.locator("#cost")).to_contain_text("$0.00")
    stats = client.get(f"/jobs/{job_id}").json()["stats"]
    expect(page.locator("#stats")).to_contain_text(str(stats["gate_counts"]["2q"]))
    expect(page.locator("#circuit-input")).to_contain_text('"cnot"')
    native = page.locator("#circuit-native")
    expect(native).to_contain_text('"gpi2"')
    compiled = json.loads(client.get(f"/jobs/{job_id}/circuits/native").json())
    assert json.loads(native.text_content() or "") == compiled
    page.get_by_role("button", name="Show OpenQASM 3").click()
    expect(page.locator("#circuit")).to_contain_text("OPENQASM 3")
    page.screenshot(path=str(artifacts / "job-detail.png"), full_page=True)
    page.emulate_media(color_scheme="dark")
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(artifacts / "job-detail-dark.png"))


def test_multi_circuit_job_charts_each_circuit(page: Page, client: httpx.Client) -> None:
    circuits = [
        {"circuit": BELL, "name": "bell"},
        {"circuit": [{"gate": "x", "target": 0}]},
        {"circuit": [{"gate": "h", "target": 0}, {"gate": "h", "target": 1}]},
    ]
    parent_id = submit(
        client,
        _job(
            name="three-circuits",
            type="ionq.multi-circuit.v1",
            input={"gateset": "qis", "qubits": 2, "circuits": circuits},
        ),
    )
    assert wait_for_job(client, parent_id)["status"] == "completed"
    probabilities = client.get(f"/jobs/{parent_id}/results/probabilities").json()
    _sign_in(page)
    page.goto(f"/console/#/jobs/{parent_id}")
    charts = page.locator("#results figure.chart")
    expect(charts).to_have_count(3)
    for index, (child_id, outcomes) in enumerate(probabilities.items()):
        chart = charts.nth(index)
        labels = chart.locator("rect.bar").evaluate_all(
            "(rects) => rects.map((r) => r.dataset.label)"
        )
        assert sorted(labels) == sorted(format(int(k), "b") for k in outcomes)
        expect(page.locator(f'#results a[href="#/jobs/{child_id}"]')).to_be_visible()
    # the parent has no compiled circuit of its own: its children do
    expect(page.locator("#circuit")).to_contain_text("each child job has its compiled circuit")


def test_a_running_job_is_cancelled_from_its_page(page: Page, client: httpx.Client) -> None:
    job_id = submit(client, _job(backend="qpu.aria-1", shots=10_000, name="long-qpu-job"))
    _sign_in(page)
    page.goto(f"/console/#/jobs/{job_id}")
    cancel = page.get_by_role("button", name="Cancel job")
    expect(cancel).to_be_visible()
    cancel.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("canceled")
    expect(cancel).to_have_count(0)
    assert client.get(f"/jobs/{job_id}").json()["status"] == "canceled"


def test_failed_job_shows_its_failure(page: Page, client: httpx.Client) -> None:
    bad = _job(name="out-of-range", input={"qubits": 2, "circuit": [{"gate": "h", "target": 5}]})
    job_id = submit(client, bad)
    failed = wait_for_job(client, job_id)
    assert failed["status"] == "failed"
    _sign_in(page)
    page.goto(f"/console/#/jobs/{job_id}")
    failure = page.get_by_role("region", name="Failure")
    expect(failure).to_contain_text(failed["failure"]["code"])  # type: ignore[index]
    expect(failure).to_contain_text(failed["failure"]["message"])  # type: ignore[index]
    expect(page.locator("#results")).to_contain_text("no results")


def test_status_filter_and_search(page: Page, client: httpx.Client, artifacts: Path) -> None:
    done = submit(client, _job(name="filter-done"))
    failed = submit(
        client,
        _job(name="filter-failed", input={"qubits": 1, "circuit": [{"gate": "x", "target": 3}]}),
    )
    assert wait_for_job(client, done)["status"] == "completed"
    assert wait_for_job(client, failed)["status"] == "failed"
    _sign_in(page)
    expect(_row(page, done)).to_be_visible()

    page.get_by_label("Status").select_option("failed")
    expect(page).to_have_url(re.compile(r"#/jobs\?status=failed$"))
    expect(_row(page, failed)).to_be_visible()
    expect(_row(page, done)).to_have_count(0)
    statuses = page.locator("#jobs-table tbody tr").evaluate_all(
        "(rows) => rows.map((r) => r.dataset.status)"
    )
    assert statuses and set(statuses) == {"failed"}
    page.screenshot(path=str(artifacts / "jobs-failed.png"))

    page.get_by_label("Status").select_option("")
    page.get_by_role("searchbox", name="Search").fill("FILTER-DO")  # any case, part of a name
    page.get_by_role("searchbox", name="Search").press("Enter")
    expect(page.locator("#jobs-table tbody tr")).to_have_count(1)
    expect(_row(page, done)).to_be_visible()

    page.get_by_role("searchbox", name="Search").fill(failed[:13])  # an id prefix
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#jobs-table tbody tr")).to_have_count(1)
    expect(_row(page, failed)).to_be_visible()


def test_pages_of_jobs_follow_the_api_cursor(page: Page, client: httpx.Client) -> None:
    ids = [
        submit(client, _job(name=f"page-{i:02d}", dry_run=True)) for i in range(27)
    ]  # dry runs: created, compiled, never run
    first = client.get("/jobs", params={"search": "page-", "limit": 25}).json()
    rest = client.get(
        "/jobs", params={"search": "page-", "limit": 25, "next": first["next"]}
    ).json()
    assert [j["id"] for j in first["jobs"] + rest["jobs"]] == sorted(ids, reverse=True)

    _sign_in(page)
    page.get_by_role("searchbox", name="Search").fill("page-")
    page.get_by_role("searchbox", name="Search").press("Enter")
    rows = page.locator("#jobs-table tbody tr")
    # the unfiltered first page also has 25 rows: wait for the search's own rows
    expect(rows.first).to_have_attribute("data-job-id", first["jobs"][0]["id"])
    expect(rows).to_have_count(25)
    shown = rows.evaluate_all("(rows) => rows.map((r) => r.dataset.jobId)")
    assert shown == [j["id"] for j in first["jobs"]]
    expect(page.get_by_role("button", name="← Newer")).to_be_disabled()

    page.get_by_role("button", name="Older →").click()
    expect(rows).to_have_count(2)
    expect(rows.first).to_have_attribute("data-job-id", rest["jobs"][0]["id"])
    assert rows.evaluate_all("(rows) => rows.map((r) => r.dataset.jobId)") == [
        j["id"] for j in rest["jobs"]
    ]
    expect(page.get_by_role("button", name="Older →")).to_be_disabled()
    expect(page.locator(".page-label")).to_have_text("Page 2")

    page.get_by_role("button", name="← Newer").click()
    expect(rows).to_have_count(25)
    expect(page.locator(".page-label")).to_have_text("Page 1")


# --- backends, sessions, usage -------------------------------------------------------------------


def test_backends_page_shows_status_and_characterization(
    page: Page, anonymous: httpx.Client, artifacts: Path
) -> None:
    backends = anonymous.get("/backends").json()
    _sign_in(page)
    _nav(page, "Backends")
    table = page.locator("#backends-table")
    for backend in backends:
        row = table.locator(f'tr[data-backend="{backend["backend"]}"]')
        expect(row).to_contain_text(backend["status"])
        expect(row).to_contain_text(str(backend["qubits"]))

    latest = anonymous.get("/backends/qpu.aria-1/characterizations").json()["characterizations"][0]
    card = page.locator('section.card[data-backend="qpu.aria-1"]')
    for kind in ("1q", "2q", "spam"):
        expect(card).to_contain_text(f"{latest['fidelity'][kind]['median'] * 100:.3f} %")
    n = latest["qubits"]
    assert len(latest["connectivity"]) == n * (n - 1) // 2
    expect(card.locator(".connectivity-summary")).to_have_text(
        f"All-to-all: each of the {n} qubits couples to every other "
        f"({len(latest['connectivity'])} pairs)."
    )
    expect(card.locator("svg.connectivity rect.pair")).to_have_count(2 * n * (n - 1) // 2)
    page.screenshot(path=str(artifacts / "backends.png"), full_page=True)


def test_sessions_page_lists_and_ends_a_session(page: Page, client: httpx.Client) -> None:
    session = client.post("/sessions", json={"backend": "simulator"}).json()
    job_id = submit(client, _job(name="in-session", session_id=session["id"]))
    wait_for_job(client, job_id)
    _sign_in(page)
    _nav(page, "Sessions")
    row = page.locator(f'#sessions-table tr[data-session-id="{session["id"]}"]')
    expect(row).to_contain_text("simulator")
    expect(row).to_contain_text("started")

    row.get_by_role("link", name="Jobs").click()
    expect(page.locator("#jobs-table tbody tr")).to_have_count(1)
    expect(_row(page, job_id)).to_be_visible()

    _nav(page, "Sessions")
    row.get_by_role("button", name=re.compile("End session")).click()
    expect(row).to_contain_text("ended")
    assert client.get(f"/sessions/{session['id']}").json()["status"] == "ended"


def test_usage_page_charts_what_the_organization_spent(
    page: Page, client: httpx.Client, artifacts: Path
) -> None:
    # an emulated QPU job has a price (the Aria minimum for a tiny circuit)
    job_id = submit(client, _job(backend="qpu.aria-1", shots=100, name="usage-job"))
    assert wait_for_job(client, job_id)["status"] == "completed"
    org = client.get("/sessions").json()["organization_id"]
    _sign_in(page)
    _nav(page, "Usage")
    totals = page.locator("#usage-totals")
    expect(totals).to_be_visible()
    start = page.get_by_label("From").input_value()
    end = page.get_by_label("To (exclusive)").input_value()
    report = client.get(
        f"/organizations/{org}/usage",
        params={"start_date": start, "end_date": end, "modality": "daily", "group_by": "project"},
    ).json()
    assert report["amount_total"] > 0
    expect(totals).to_contain_text(f"${report['amount_total']:,.2f}")
    expect(totals).to_contain_text(str(report["job_count"]))
    # one bar per day of the window, the days without usage at zero
    days = (date.fromisoformat(end) - date.fromisoformat(start)).days
    bars = page.locator("figure.chart svg rect.bar")
    expect(bars).to_have_count(days)
    labels = bars.evaluate_all("(rects) => rects.map((r) => r.dataset.label)")
    assert labels[0] == start and labels == sorted(labels) and len(set(labels)) == days
    amounts = {p["from"]: p["amount"] for p in report["usage_data"]}
    shown = page.locator("figure.chart table tbody tr").evaluate_all(
        "(rows) => rows.map((r) => [r.cells[0].textContent, r.cells[1].textContent])"
    )
    assert {day: text for day, text in shown if text != "$0.00"} == {
        day: f"${amount:,.2f}" for day, amount in amounts.items()
    }
    expect(page.locator("#usage-table tbody tr")).to_have_count(len(report["usage_data"]))
    page.screenshot(path=str(artifacts / "usage.png"), full_page=True)


# --- accessibility -------------------------------------------------------------------------------

UNNAMED_CONTROLS = """() => [...document.querySelectorAll("input, select, button, a[href]")]
    .filter((el) => el.offsetParent !== null || el.closest("details"))
    .filter((el) => !(el.labels?.length || el.getAttribute("aria-label")
                      || el.getAttribute("aria-labelledby") || el.textContent.trim()))
    .map((el) => el.outerHTML)"""


def test_every_page_names_its_controls_and_works_by_keyboard(
    page: Page, client: httpx.Client
) -> None:
    job_id = submit(client, _job(name="a11y"))
    wait_for_job(client, job_id)
    page.goto("/console")
    assert page.evaluate(UNNAMED_CONTROLS) == []
    _sign_in(page)
    for route in ("#/jobs", f"#/jobs/{job_id}", "#/backends", "#/sessions", "#/usage"):
        page.goto(f"/console/{route}")
        expect(page.locator("main h1")).to_be_visible()
        expect(page.locator(".loading")).to_have_count(0)
        assert page.evaluate(UNNAMED_CONTROLS) == [], route
        assert page.locator("main h1").count() == 1, route
        assert page.evaluate("document.documentElement.lang") == "en"

    # keyboard only: the skip link comes first and lands in the page's content
    page.goto("/console/#/jobs")
    page.reload()  # a fresh document: focus starts at its top
    expect(page.locator("#jobs-table tbody tr").first).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    assert page.url.endswith("#/jobs")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Status")).to_be_focused()
    # then the main navigation; Enter follows a link
    page.reload()
    expect(page.locator("#jobs-table tbody tr").first).to_be_visible()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")  # the brand link
    page.keyboard.press("Tab")
    main_nav = page.get_by_role("navigation", name="Main")
    expect(main_nav.get_by_role("link", name="Jobs")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Backends", level=1)).to_be_visible()
    expect(main_nav.get_by_role("link", name="Backends")).to_have_attribute("aria-current", "page")
    expect(page.locator("main")).to_be_focused()  # focus moved to the new page's content


def test_usage_page_tells_a_member_it_is_for_owners(page: Page, server: Server) -> None:
    user = cli_json(
        server, "users", "create", "member@console.example", "--project", "Default Project"
    )
    assert isinstance(user, dict)
    key = cli_json(server, "keys", "create", "--user", user["email"], "--name", "member")
    assert isinstance(key, dict)
    _sign_in(page, key["key"])
    expect(page.locator("#who-name")).to_have_text("Key: member")
    _nav(page, "Usage")
    expect(page.get_by_role("alert")).to_contain_text("owners of the organization")
    expect(page.locator("figure.chart")).to_have_count(0)


# --- headers -------------------------------------------------------------------------------------


def test_console_is_served_with_security_headers(server: Server) -> None:
    redirect = httpx.get(f"{server.root}/console")
    assert redirect.status_code == 307
    assert redirect.headers["location"].endswith("/console/")
    for path in ("/console/", "/console/js/app.js", "/console/console.css"):
        response = httpx.get(f"{server.root}{path}")
        assert response.status_code == 200, path
        csp = response.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src 'self'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert "frame-ancestors 'none'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
    assert (
        httpx.get(f"{server.root}/console/js/app.js")
        .headers["content-type"]
        .startswith("text/javascript")
    )
    missing = httpx.get(f"{server.root}/console/nope.js")
    assert missing.status_code == 404 and missing.json()["statusCode"] == 404
    # the page itself carries no inline script or style for the policy to allow
    html = httpx.get(f"{server.root}/console/").text
    assert re.search(r"<script(?![^>]*\bsrc=)", html) is None
    assert "<style" not in html and " style=" not in html
