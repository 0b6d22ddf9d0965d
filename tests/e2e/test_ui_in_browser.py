"""`goldilocks ui` opened in a real headless browser (Debian's chromium through selenium): the
experiment link it prints opens MLflow's model-training view, and a trained run's page shows the
curriculum metrics."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mlflow import MlflowClient

from tests.support.processes import free_port, stop_session, wait_until_up

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
needs_browser = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver; .ci/run installs them)",
)


def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,1000",
    ):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


@needs_browser
def test_a_runs_page_shows_the_curriculum_metrics(two_step_run):
    tmp_path, trained = two_step_run
    env = {**os.environ, "COLUMNS": "200"}
    assert trained.returncode == 0, trained.stdout + trained.stderr
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path}/mlflow.db")
    experiment = client.get_experiment_by_name("goldilocks-demo")
    (run,) = client.search_runs([experiment.experiment_id])

    port = free_port()
    with open(tmp_path / "ui.log", "w") as log:
        ui = subprocess.Popen(
            [BIN / "goldilocks", "ui", "--port", str(port)],
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    driver = None
    try:
        wait_until_up(f"http://127.0.0.1:{port}/health", 120, tmp_path / "ui.log")
        driver = browser()
        printed = next(line for line in (tmp_path / "ui.log").read_text().splitlines() if line.startswith("experiment "))
        link = printed.split(": ", 1)[1].strip()
        assert experiment.tags.get("mlflow.experimentKind") == "custom_model_development"
        driver.get(link)  # the experiment opens in MLflow's model-training view: its runs, not GenAI traces
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and run.info.run_name not in driver.page_source:
            time.sleep(1)
        assert "/runs" in driver.current_url and "workflowType=machine_learning" in driver.current_url, driver.current_url
        assert run.info.run_name in driver.page_source
        driver.get(f"http://127.0.0.1:{port}/#/experiments/{experiment.experiment_id}/runs/{run.info.run_id}")
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and "curriculum/pass_rate" not in driver.page_source:
            time.sleep(1)
        if "curriculum/pass_rate" not in driver.page_source:
            driver.save_screenshot(str(tmp_path / "page.png"))
        page = driver.page_source
        for metric in ("curriculum/pass_rate", "curriculum/difficulty", "curriculum/informative_group_frac"):
            assert metric in page, f"{metric} not on the run page (screenshot: {tmp_path / 'page.png'})"
    finally:
        if driver is not None:
            driver.quit()
        stop_session(ui)
    assert "Optuna study: optuna-dashboard sqlite:///" in (tmp_path / "ui.log").read_text()
