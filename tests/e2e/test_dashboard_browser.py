"""The dashboard in a real browser (Debian's headless Chromium, driven by chromedriver) against
`smgitops local up`: a canary rolled back on screen without a reload, a gate released by the
Promote button, a cross-site action refused, and the audit report opened offline. Each page's
screenshot is written to $SMGITOPS_SCREENSHOTS (default build/screenshots/) for a reviewer."""

from __future__ import annotations

import json
import os
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from smgitops.local.scenario import GitRemote
from tests.builders import declaration_dict
from tests.e2e.conftest import LocalUp, Repo, Traffic, running_local_up

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
SHOTS = Path(os.environ.get("SMGITOPS_SCREENSHOTS", ROOT / "build" / "screenshots"))
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
BAD_METRICS = {
    "metrics": [{"metric": "Invocation5XXErrors", "statistic": "Sum", "max": 2, "period": 60}]
}

if not (CHROMIUM and CHROMEDRIVER):
    if os.environ.get("CI") == "true":  # CI installs Debian's chromium: its absence is a failure
        raise RuntimeError("chromium and chromedriver are needed (apt-get install chromium "
                           "chromium-driver)")  # fmt: skip
    pytest.skip("no chromium/chromedriver here (apt-get install chromium chromium-driver)",
                allow_module_level=True)  # fmt: skip


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalUp]:
    log = tmp_path_factory.mktemp("local-up-dashboard") / "stderr.log"
    with running_local_up(log, "--update-delay", "0.5", "--allow-actions") as running:
        yield running


@pytest.fixture(scope="module")
def dashboard(up: LocalUp) -> str:
    assert up.dashboard.startswith("http://127.0.0.1:")
    return up.dashboard


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--window-size=1280,1000",
    ):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def repo(up: LocalUp, tmp_path: Path) -> Repo:
    return Repo(GitRemote(tmp_path / "models"), up)


def shot(browser: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SHOTS / f"{name}.png"))


def until(check: Callable[[], Any], timeout: float = 90, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def text(browser: Any, css: str) -> str:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    try:
        return " ".join(e.text for e in browser.find_elements(By.CSS_SELECTOR, css))
    except StaleElementReferenceException:  # the page redrew between find and read
        return ""


def test_a_canary_rolls_back_on_screen_without_a_reload(
    up: LocalUp, repo: Repo, browser: Any, dashboard: str
) -> None:
    name = "ui-canary"
    first, _ = repo.declare(declaration_dict(name, version=1, interval="1s"), "v1")
    up.wait_for(name, first, {"Succeeded"})
    browser.get(dashboard + "/")
    until(lambda: name in text(browser, "#endpoints"), what="the endpoint in the list")
    shot(browser, "1-endpoints")

    browser.get(f"{dashboard}/#/e/{name}")
    browser.execute_script("window.__sameDocument = 'yes';")  # gone if the page reloads
    # a healthy canary first: each step bakes 6 s, longer than the page's 2 s poll
    good = declaration_dict(name, version=2, interval="6s", steps=[20, 60])
    seen: set[str] = set()
    second, _ = repo.declare(good, "v2: a good model")

    def promoted() -> bool:
        seen.add(text(browser, ".weight"))
        return "Succeeded" in text(browser, ".facts .phase") and second[:12] in text(
            browser, ".facts"
        )

    until(promoted, what="v2 Succeeded on the page")
    assert any("candidate" in s.lower() and "20 %" in s for s in seen), seen  # moved on screen
    assert any("candidate" in s.lower() and "60 %" in s for s in seen), seen
    # then a bad model: traffic snaps back and the reason appears, still without a reload
    bad = declaration_dict(
        name, version=3, interval="4s", steps=[20, 60],
        environment={"SMGITOPS_SIM_ERROR_RATE": "0.8"}, analysis=BAD_METRICS,
    )  # fmt: skip
    with Traffic(up, name, pause=0.01):
        third, _ = repo.declare(bad, "v3: a bad model")
        until(
            lambda: (
                "RolledBack" in text(browser, ".facts .phase")
                and third[:12] in text(browser, ".facts")
            ),
            what="v3 RolledBack on the page",
        )
    shot(browser, "2-rollout-rolled-back")
    assert browser.execute_script("return window.__sameDocument") == "yes"  # no reload
    assert "Invocation5XXErrors" in text(browser, "#reason")
    events = text(browser, "#events")
    assert "step 1: 20 % on the candidate" in events
    assert "RollingBack" in events
    svg = browser.execute_script("return document.querySelector('#chart svg').outerHTML")
    assert 'class="weight"' in svg and 'class="step"' in svg

    browser.get(f"{dashboard}/#/h/{name}")
    until(lambda: "RolledBack" in text(browser, "#history"), what="the history page")
    assert first[:12] in text(browser, "#history")
    shot(browser, "3-history")


def test_promote_at_a_gate_from_the_page_moves_the_rollout(
    up: LocalUp, repo: Repo, browser: Any, dashboard: str
) -> None:
    from selenium.webdriver.common.by import By

    name = "ui-gate"
    first, _ = repo.declare(declaration_dict(name, version=1, interval="1s"), "v1")
    up.wait_for(name, first, {"Succeeded"})
    document = declaration_dict(name, version=2, interval="1s", gates=["beforePromotion"])
    second, _ = repo.declare(document, "v2 behind a gate")
    up.wait_for(name, second, {"Paused"})
    browser.get(f"{dashboard}/#/e/{name}")
    button = until(lambda: browser.find_elements(By.ID, "promote"), what="the Promote button")
    shot(browser, "4-gate")
    button[0].click()
    done = up.wait_for(name, second, {"Succeeded"})
    assert done["phase"] == "Succeeded"
    history = json.loads(up.cli("history", name, "--output", "json").stdout)
    assert any(
        "promote (step) requested by local (dashboard)" in r["event"]
        for r in history
        if r["commit"] == second
    ), history


def test_a_cross_site_action_is_refused(up: LocalUp, dashboard: str) -> None:
    request = urllib.request.Request(  # noqa: S310 - the dashboard on loopback
        f"{dashboard}/api/endpoints/ui-gate/abort",
        data=b"{}",
        method="POST",
        headers={"Origin": "https://evil.example", "Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)  # noqa: S310 - loopback
    assert refused.value.code == 403


def test_the_report_opens_offline_and_has_every_step(
    up: LocalUp, browser: Any, tmp_path: Path
) -> None:
    report = tmp_path / "report.html"
    written = up.cli("report", "ui-canary", "--output", str(report))
    assert written.returncode == 0, written.stderr
    html = report.read_text()
    assert "<script" not in html and "src=" not in html
    browser.get(report.as_uri())
    body = text(browser, "body")
    assert "Rollout of ui-canary" in body and "RolledBack" in body
    assert "step 1: 20 % on the candidate" in body
    shot(browser, "5-report")
