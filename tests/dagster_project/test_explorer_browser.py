"""The explorer in a real browser (Debian's Chromium through chromedriver) over a real demo run.

Screenshots go to ``TAGTRAIL_TEST_ARTIFACTS`` (default ``.artifacts/screenshots`` in the
repository), so a failure can be looked at.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dagster_project.run import RunReport
from lineage.store import default_url, open_store

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "lineage" / "serve" / "static" / "vendor"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
ARTIFACTS = Path(os.environ.get("TAGTRAIL_TEST_ARTIFACTS") or ROOT / ".artifacts" / "screenshots")

pytestmark = [
    pytest.mark.skipif(
        not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
        reason="needs a browser: install Debian's chromium and chromium-driver "
        "(apt-get install chromium chromium-driver; .ci/run does this where they are missing)",
    ),
    pytest.mark.skipif(
        not (VENDOR / "cytoscape.min.js").is_file(),
        reason="the explorer's browser libraries are not built: run `make assets` (needs npm)",
    ),
]

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def server(clean_home: tuple[Path, RunReport]) -> Iterator[str]:
    home, _ = clean_home
    port = _free_port()
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("tagtrail")),
            "serve",
            "--port",
            str(port),
            "--home",
            str(home),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.communicate()
            try:
                httpx.get(f"{base}/api/v1/health", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "tagtrail serve did not answer"
                time.sleep(0.2)
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1600,1000",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _shot(driver: object, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))  # type: ignore[attr-defined]


def _shown(driver: object) -> set[str]:
    graph = driver.find_element(By.ID, "graph")  # type: ignore[attr-defined]
    return set(filter(None, (graph.get_attribute("data-datasets") or "").split(",")))


def test_explorer_traces_nhs_numbers_filters_by_health_and_opens_the_ropa(
    server: str, browser: object, clean_home: tuple[Path, RunReport]
) -> None:
    driver = browser
    wait = WebDriverWait(driver, 30)  # type: ignore[arg-type]
    driver.get(server + "/")  # type: ignore[attr-defined]
    wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "true")
    assert {"inpatient_episodes", "admissions_research_extract"} <= _shown(driver)
    _shot(driver, "1-estate-graph")

    Select(driver.find_element(By.ID, "trace-dataset")).select_by_value("inpatient_episodes")  # type: ignore[attr-defined]
    wait.until(
        lambda d: (
            "nhs_number"
            in [
                o.get_attribute("value")
                for o in Select(d.find_element(By.ID, "trace-column")).options
            ]
        )
    )
    Select(driver.find_element(By.ID, "trace-column")).select_by_value("nhs_number")  # type: ignore[attr-defined]
    Select(driver.find_element(By.ID, "trace-direction")).select_by_value("downstream")  # type: ignore[attr-defined]
    driver.find_element(By.ID, "trace-run").click()  # type: ignore[attr-defined]
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#hops tbody tr"))
    rows = {
        r.get_attribute("data-to"): r
        for r in driver.find_elements(By.CSS_SELECTOR, "#hops tbody tr")  # type: ignore[attr-defined]
    }
    research = rows["admissions_research_extract.person_key"]
    assert research.get_attribute("data-tags-before") == "person.id.direct"
    assert research.get_attribute("data-tags-after") == "person.id.pseudonymous"
    assert research.get_attribute("data-agreement") == "DSA-HLT-RES-05"
    shown = [c.text for c in research.find_elements(By.CSS_SELECTOR, ".tag")]
    assert shown == ["person.id.direct", "person.id.pseudonymous"]
    assert "Art. 9(2)(j)" in research.text
    assert rows["discharge_notifications.nhs_number"].get_attribute("data-tags-after") == (
        "person.id.direct"
    )
    _shot(driver, "2-nhs-number-downstream")

    home, _ = clean_home
    with open_store(default_url(home)) as store:
        health = {
            name.split("/", 1)[1]
            for name, tags in store.column_tags().items()
            if "person.special.health" in tags
        }
    Select(driver.find_element(By.ID, "tag-filter")).select_by_value("person.special.health")  # type: ignore[attr-defined]
    wait.until(lambda d: _shown(d) == health)
    _shot(driver, "3-filtered-by-health")

    driver.execute_script("showDataset('care_research_extract')")  # type: ignore[attr-defined]
    wait.until(
        lambda d: any(
            "control: pseudonymisation" in r.text
            for r in d.find_elements(By.CSS_SELECTOR, "#dataset-checks tbody tr")
        )
    )
    columns = driver.find_elements(By.CSS_SELECTOR, "#dataset-columns tbody tr")  # type: ignore[attr-defined]
    person_key = next(r for r in columns if r.text.startswith("person_key"))
    assert "person.id.pseudonymous" in person_key.text and "keyed_hash" in person_key.text
    _shot(driver, "4-dataset-panel")

    driver.find_element(By.ID, "ropa-link").click()  # type: ignore[attr-defined]
    wait.until(lambda d: "Record of processing" in d.title)
    sections = driver.find_elements(By.TAG_NAME, "h2")  # type: ignore[attr-defined]
    assert {s.text for s in sections} >= {"care_research_extract", "discharge_notifications"}
    _shot(driver, "5-record-of-processing")
