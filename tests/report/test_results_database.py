"""Reports, Pareto counts and imports on real databases written through the schema."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import insert
from typer.testing import CliRunner

from mtlx.analysis.comparison import Selection, load_comparisons
from mtlx.analysis.fronts import pareto_analysis
from mtlx.analysis.summaries import method_summary, select_runs
from mtlx.cli import app
from mtlx.store.database import open_database
from mtlx.store.fixtures import SyntheticSweep, write_sweep
from mtlx.store.schema import EpochMetric, Run
from mtlx.tasks.kinds import CLASSIFICATION, DEPTH, NORMAL, SEGMENTATION

NYUV2 = {"seg": SEGMENTATION, "depth": DEPTH, "normal": NORMAL}
HOSTILE = "a_b & c%$#"
REQUIRE_TOOLS = os.environ.get("MTLX_REQUIRE_TOOLS") == "1"


def invoke(*args: str, columns: int = 250):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": str(columns)})


def require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        if REQUIRE_TOOLS:
            pytest.fail(f"{tool} is not installed but MTLX_REQUIRE_TOOLS=1")
        pytest.skip(f"{tool} is not installed")
    return path


@pytest.fixture
def nyuv2_db(tmp_path: Path) -> str:
    path = str(tmp_path / "nyuv2.sqlite")
    engine = open_database(path)
    write_sweep(
        engine,
        SyntheticSweep(
            "nyuv2",
            "segnet",
            NYUV2,
            methods=("ew", "uw", HOSTILE),
            optimizers=("adam", "sgd", "signsgd"),
            lrs=(1e-5, 1e-4, 1e-3, 1e-2),
        ),
    )
    return path


@pytest.fixture
def two_setups_db(tmp_path: Path) -> str:
    """MultiMNIST with two schedules (3 and 5 epochs) and NYUv2: three setups."""
    path = str(tmp_path / "two.sqlite")
    engine = open_database(path)
    tasks = {"left": CLASSIFICATION, "right": CLASSIFICATION}
    for epochs in (3, 5):
        write_sweep(
            engine,
            SyntheticSweep("multimnist", "multilenet", tasks, training={"epochs": epochs}),
        )
    write_sweep(engine, SyntheticSweep("nyuv2", "segnet", NYUV2, random_seed=1))
    return path


# ---- selection ---------------------------------------------------------------------------------


def _run(run_id: int, lr: float, seed: int) -> dict:
    config = {"method": "ew", "lr": lr, "seed": seed}
    return {
        "id": run_id, "run_key": f"k{run_id}", "kind": "mtl", "experiment": "x",
        "dataset": "multimnist", "network": "multilenet", "tasks": "left,right",
        "method": "ew", "optimizer": "adam", "lr": lr, "seed": seed, "baseline_key": "b",
        "config": config, "status": "FINISHED", "attempt": 1,
        "created_at": pd.Timestamp(0).to_pydatetime(),
        "started_at": pd.Timestamp(0).to_pydatetime(),
        "heartbeat_at": pd.Timestamp(0).to_pydatetime(), "epochs_completed": 1,
        "selected_epoch": 1, "selection_rule": "val_loss", "host": "h", "device": "cpu",
        "python_version": "3", "torch_version": "-", "mtlx_version": "-",
        "data_provenance": {},
        "task_metrics": {t: {"primary": f"{t}.acc", "metrics": {f"{t}.acc": True}}
                         for t in ("left", "right")},
    }  # fmt: skip


def test_the_learning_rate_is_chosen_on_validation_never_on_test(tmp_path: Path) -> None:
    # lr 1e-3 is better on validation, lr 1e-2 far better on test: 1e-3 must be reported.
    engine = open_database(str(tmp_path / "s.sqlite"))
    values = {1e-3: {"val": 0.9, "test": 0.5}, 1e-2: {"val": 0.8, "test": 0.99}}
    runs, metrics = [], []
    for run_id, (lr, seed) in enumerate([(1e-3, 0), (1e-3, 1), (1e-2, 0), (1e-2, 1)], start=1):
        runs.append(_run(run_id, lr, seed))
        for split in ("val", "test"):
            for task in ("left", "right"):
                metrics.append({"run_id": run_id, "epoch": 1, "split": split,
                                "metric": f"{task}.acc", "value": values[lr][split]})  # fmt: skip
                loss = 1 - values[lr][split]
                metrics.append({"run_id": run_id, "epoch": 1, "split": split,
                                "metric": f"{task}.loss", "value": loss})  # fmt: skip
    with engine.begin() as connection:
        connection.execute(insert(Run), runs)
        connection.execute(insert(EpochMetric), metrics)
    (comparison,) = load_comparisons(engine, Selection())
    summary = method_summary(comparison, select_runs(comparison))
    assert summary["lr"].tolist() == [1e-3]
    assert summary["left.acc"].tolist() == [0.5]
    assert summary["seeds"].tolist() == [2]


# ---- hostile names in every format -------------------------------------------------------------


@pytest.mark.parametrize("format", ["terminal", "latex", "markdown", "csv", "json", "html"])
def test_hostile_names_survive_every_format(nyuv2_db: str, tmp_path: Path, format: str) -> None:
    target = tmp_path / f"out.{format}"
    args = ["report", "--db", nyuv2_db, "--format", format]
    if format != "terminal":
        args += ["--output", str(target)]
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    text = result.output if format == "terminal" else target.read_text(encoding="utf-8")
    if format == "latex":
        assert r"a\_b \& c\%\$\#" in text
    elif format == "markdown":
        assert r"a\_b & c%$#" in text
    elif format == "html":
        assert "a_b &amp; c%$#" in text
    elif format == "csv":
        assert HOSTILE in set(pd.read_csv(target)["method"])
    elif format == "json":
        assert HOSTILE in {row["method"] for row in json.loads(text)}
    else:
        assert HOSTILE in text


def test_terminal_fits_80_columns_and_cuts_no_number(nyuv2_db: str) -> None:
    wide = invoke("report", "--db", nyuv2_db, "--format", "csv")
    table = pd.read_csv(io.StringIO(wide.output))
    result = invoke("report", "--db", nyuv2_db, columns=80)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(len(line) for line in lines if not line.startswith("•")) <= 80
    assert "…" not in result.output
    for value in table.loc[table["method"] == "uw", "seg.miou"]:
        assert f"{100 * value:.2f}" in result.output  # percent, whole, in some part
    assert HOSTILE in result.output


# ---- several setups: tidy CSV and JSON ---------------------------------------------------------


def test_csv_of_several_setups_reads_back_with_pandas(two_setups_db: str) -> None:
    result = invoke("report", "--db", two_setups_db, "--format", "csv")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(io.StringIO(result.output))
    assert list(table.columns[:10]) == [
        "dataset", "network", "setup", "setup_key", "source", "imported", "method",
        "optimizer", "lr", "seeds",
    ]  # fmt: skip
    assert set(table["dataset"]) == {"multimnist", "nyuv2"}
    multimnist = table[table["dataset"] == "multimnist"]
    assert set(multimnist["setup"]) == {"epochs=3", "epochs=5"}
    assert multimnist["seg.miou"].isna().all()
    assert table.groupby(["dataset", "setup", "method", "optimizer"]).size().max() == 1
    assert "61607a" not in invoke("report", "--db", two_setups_db, "--format", "latex").output
    records = json.loads(invoke("report", "--db", two_setups_db, "--format", "json").output)
    assert len(records) == len(table)


# ---- Pareto counts -----------------------------------------------------------------------------


def test_pareto_counts_by_method_and_optimizer_add_up(nyuv2_db: str) -> None:
    engine = open_database(nyuv2_db, create=False)
    (comparison,) = load_comparisons(engine, Selection(optimizers=("adam", "sgd")))
    result = pareto_analysis(comparison, "tasks", "method-optimizer")
    by_optimizer = pareto_analysis(comparison, "tasks", "optimizer", vs="sgd")
    points = result.points
    assert set(points["optimizer"]) == {"adam", "sgd"}
    assert result.counts["po_full"].sum() == points["pareto_optimal"].sum()
    counts = by_optimizer.counts.set_index("group")
    assert pd.isna(counts.at["sgd", "po_vs"])  # no count of sgd w.r.t. itself
    assert counts.at["adam", "po_vs"] >= counts.at["adam", "po_full"]
    output = invoke("pareto", "--db", nyuv2_db, "--by", "method-optimizer").output
    assert "Pareto-optimal runs by method × optimizer" in output
    csv = invoke("pareto", "--db", nyuv2_db, "--objectives", "tasks", "--format", "csv").output
    frame = pd.read_csv(io.StringIO(csv))
    assert {"delta_m.seg", "delta_m.depth", "delta_m.normal"} <= set(frame.columns)
    assert frame["pareto_optimal"].dtype == bool


def test_pareto_refuses_an_unknown_vs_group(nyuv2_db: str) -> None:
    result = invoke("pareto", "--db", nyuv2_db, "--vs", "lion")
    assert result.exit_code == 2
    assert "'lion' is not a group" in " ".join(result.output.split())


# ---- LaTeX compiled ----------------------------------------------------------------------------


@pytest.mark.latex
@pytest.mark.parametrize("landscape", [False, True])
def test_latex_compiles_and_never_overflows(nyuv2_db: str, tmp_path: Path, landscape) -> None:
    pdflatex = require("pdflatex")
    document, again = tmp_path / "report.tex", tmp_path / "again.tex"
    for path in (document, again):
        args = ["report", "--db", nyuv2_db, "--format", "latex", "--standalone"]
        args += ["--output", str(path), *(["--landscape"] if landscape else [])]
        assert invoke(*args).exit_code == 0
    assert again.read_bytes() == document.read_bytes()  # same database, same bytes
    result = subprocess.run(
        [pdflatex, "-interaction=nonstopmode", "-halt-on-error", document.name],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    log = (tmp_path / "report.log").read_text(errors="replace")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "Overfull \\hbox" not in log
    assert (tmp_path / "report.pdf").stat().st_size > 0
    tex = document.read_text()
    assert "\\label{tab:mtlx-nyuv2-segnet" in tex
    assert tex.count("\\begin{table}" if not landscape else "\\begin{sidewaystable}") >= 1


# ---- the HTML page in a browser ----------------------------------------------------------------


@pytest.mark.browser
def test_html_page_loads_in_chromium_without_console_errors(nyuv2_db: str, tmp_path: Path) -> None:
    chromium = require("chromium")
    page = tmp_path / "report.html"
    assert (
        invoke("report", "--db", nyuv2_db, "--format", "html", "--output", str(page)).exit_code == 0
    )
    flags = [
        "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
    ]  # fmt: skip
    result = subprocess.run(
        [chromium, *flags, "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    console = [line for line in result.stderr.splitlines() if "CONSOLE" in line]
    assert console == [], console
    dom = result.stdout
    assert dom.count("<table>") == 2  # the results table and the PO counts
    assert "Surface normal" in dom and "ΔM (%) ↓" in dom
    assert dom.count('src="data:image/png;base64,') == 2
    assert "http" not in dom.replace("http-equiv", "")  # nothing loaded from outside the file
