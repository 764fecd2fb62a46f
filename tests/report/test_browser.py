"""Headless Chromium (Debian's, driven by Playwright) opens the MLflow UI of the ablation's server,
finds the study's parent run, its child runs and the report artifact, and saves screenshots to
work_dirs/test-artifacts/report/ ($DETLAB_TEST_ARTIFACTS overrides the root)."""
from __future__ import annotations

import pytest

from browser_testing import chromium_page, close_assistant
from report_helpers import ARTIFACTS, cell_runs

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def page():
    yield from chromium_page(ARTIFACTS)


def _ids(run):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=run.uri)
    parent = client.get_run(run.parent_run_id)
    children = [r for r in cell_runs(run.uri, run.experiment, run.name)
                if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    return parent.info.experiment_id, parent, children


def test_mlflow_ui_shows_parent_children_and_report(ablation_run, page):
    exp_id, parent, children = _ids(ablation_run)
    child = next(r for r in children if r.data.tags["detlab.ablate.cell"] == "both")
    base = ablation_run.uri.rstrip("/")

    # 1. the experiment's runs: the study's parent run, expanded to its child runs
    page.goto(f"{base}/#/experiments/{exp_id}/runs?workflowType=model_training", wait_until="load")
    cell = page.locator(f"[role=gridcell]:has(a[href$='/runs/{parent.info.run_id}'])").first
    cell.wait_for()
    close_assistant(page)
    cell.locator("button").first.click()
    page.locator(f"a[href$='/runs/{child.info.run_id}']").first.wait_for()
    page.wait_for_timeout(1000)
    listed = [page.locator(f"a[href$='/runs/{r.info.run_id}']").count() > 0 for r in children]
    page.screenshot(path=str(ARTIFACTS / "01_experiment_parent_and_children.png"))
    assert sum(listed) >= min(len(children), 8), "child runs not listed under the parent"
    assert "components_smoke" in page.inner_text("body")

    # 2. one child run: its cell and seed tags and its parent
    page.goto(f"{base}/#/experiments/{exp_id}/runs/{child.info.run_id}", wait_until="load")
    page.get_by_text("detlab.ablate.cell").first.wait_for()
    page.wait_for_timeout(1000)
    page.screenshot(path=str(ARTIFACTS / "02_child_run.png"), full_page=True)
    body = page.inner_text("body")
    assert "detlab.ablate.seed" in body and child.info.run_name in body

    # 3. the parent run's artifacts: the HTML report rendered by the artifact viewer
    page.goto(f"{base}/#/experiments/{exp_id}/runs/{parent.info.run_id}/artifacts", wait_until="load")
    page.get_by_text("report", exact=True).first.click()
    page.get_by_text("report.html", exact=True).first.click()
    frame = None
    for _ in range(60):
        frame = next((f for f in page.frames if f.locator("#ablation-table").count()), None)
        if frame is not None:
            break
        page.wait_for_timeout(1000)
    assert frame is not None, "the report artifact did not render"
    page.wait_for_timeout(1000)
    page.screenshot(path=str(ARTIFACTS / "03_report_artifact.png"))
    text = frame.inner_text("#ablation-table")
    assert "Rotated RetinaNet" in text and "failed (3/3 seeds)" in text

    # 4. the whole report page on its own (plots and diagnostics below the table)
    page.goto((ablation_run.report_dir / "report.html").as_uri(), wait_until="load")
    page.screenshot(path=str(ARTIFACTS / "04_report_full.png"), full_page=True)
