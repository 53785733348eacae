"""The command line end to end on one tiny database: baselines, sweep, Pareto fronts, reports."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import Result

from mtlx.methods import METHODS
from mtlx.store.database import head_revision, open_database
from mtlx.store.runs import RunStore

SWEEP = ["--optimizers", "adam", "--lrs", "0.001", "--seeds", "1"]
STL = ["--lrs", "0.001", "--seeds", "1"]


@dataclass
class Pipeline:
    """What `mtlx` printed at each stage of the pipeline, and the database it filled."""

    db: Path
    results: dict[str, Result] = field(default_factory=dict)

    def output(self, stage: str) -> str:
        return self.results[stage].output

    def store(self) -> RunStore:
        return RunStore(open_database(str(self.db), create=False))


@pytest.fixture(scope="module")
def pipeline(spine, tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    """sweep ew → report → stl-baseline → sweep ew, uw → pareto → report in every format."""
    folder = tmp_path_factory.mktemp("pipeline")
    done = Pipeline(db=folder / "results.sqlite")
    db = ["--db", str(done.db)]
    stages = {
        "sweep ew": ["sweep", "multimnist", "--methods", "ew", *SWEEP, *spine.flags(), *db],
        "csv before baseline": ["report", "--dataset", "multimnist", "--format", "csv", *db],
        "report before baseline": ["report", "--dataset", "multimnist", *db],
        "stl-baseline": ["stl-baseline", "multimnist", *STL, *spine.flags(), *db],
        "sweep ew,uw": ["sweep", "multimnist", "--methods", "ew,uw", *SWEEP, *spine.flags(), *db],
        "pareto": ["pareto", "--dataset", "multimnist", *db],
        "pareto all lrs": ["pareto", "--dataset", "multimnist", "--all-lrs", *db],
        "terminal": ["report", "--dataset", "multimnist", *db],
        "latex": ["report", "--dataset", "multimnist", "--format", "latex", *db],
        "markdown": ["report", "--dataset", "multimnist", "--format", "markdown", *db],
        "csv": ["report", "--dataset", "multimnist", "--format", "csv", *db],
    }
    with pytest.MonkeyPatch.context() as monkeypatch:
        spine.isolate(monkeypatch, folder)
        for stage, args in stages.items():
            done.results[stage] = spine.invoke(*args)
    return done


def test_every_stage_exits_0(pipeline: Pipeline) -> None:
    for stage, result in pipeline.results.items():
        assert result.exit_code == 0, f"{stage}: {result.output}"
        assert result.exception is None, stage


def test_runs_and_baselines_in_the_database(pipeline: Pipeline) -> None:
    store = pipeline.store()
    runs = store.runs_frame()
    assert len(runs) == 4
    assert set(runs["status"]) == {"FINISHED"}
    assert sorted(zip(runs["kind"], runs["method"], runs["tasks"], strict=True)) == [
        ("mtl", "ew", "left,right"),
        ("mtl", "uw", "left,right"),
        ("stl", "stl", "left"),
        ("stl", "stl", "right"),
    ]
    assert runs["baseline_key"].nunique() == 1  # one setup: the STL and MTL runs match

    baselines = store.baselines_frame()
    assert sorted(zip(baselines["task"], baselines["split"], baselines["metric"], strict=True)) == [
        ("left", "test", "left.acc"),
        ("left", "val", "left.acc"),
        ("right", "test", "right.acc"),
        ("right", "val", "right.acc"),
    ]
    assert set(baselines["source"]) == {"stl-baseline"}
    stl = store.selected_metrics(kind="stl").set_index(["tasks", "split"])
    for row in baselines.to_dict("records"):
        (source_key,) = row["source_run_keys"]
        assert source_key == stl.loc[(row["task"], row["split"]), "run_key"]
        assert row["value"] == stl.loc[(row["task"], row["split"]), row["metric"]]
        assert (row["seeds"], row["lr"]) == (1, 0.001)

    # ew was trained before the baseline existed, uw after it
    rules = dict(zip(runs["method"] + "/" + runs["tasks"], runs["selection_rule"], strict=True))
    assert rules["ew/left,right"] == "val_loss"
    assert rules["uw/left,right"] == "val_delta_m"
    # a single-task run stops on its validation loss (the seed paper, A3.2)
    assert (rules["stl/left"], rules["stl/right"]) == ("val_loss", "val_loss")


def test_the_second_sweep_trains_only_the_new_method(pipeline: Pipeline, spine) -> None:
    output = spine.flat(pipeline.output("sweep ew,uw"))
    assert "2 planned, 1 already finished, 1 finished" in output


def test_delta_m_appears_only_once_a_baseline_exists(pipeline: Pipeline, spine) -> None:
    before = pd.read_csv(io.StringIO(pipeline.output("csv before baseline")))
    assert list(before["method"]) == ["ew"]
    assert before["delta_m"].isna().all()  # tidy: the same columns, empty without a baseline
    assert "ΔM (%)" not in pipeline.output("report before baseline")  # the column, not the title
    assert "single-task" not in before["method"].tolist()
    assert "mtlx stl-baseline multimnist" in spine.flat(pipeline.output("report before baseline"))

    after = pd.read_csv(io.StringIO(pipeline.output("csv")))
    assert {"delta_m", "delta_m.std"} <= set(after.columns)
    assert "ΔM (%)" in pipeline.output("terminal")
    assert "ΔM (%)" in pipeline.output("markdown")
    assert r"\Delta" in pipeline.output("latex")


def test_csv_delta_m_is_recomputed_from_the_stored_metrics(pipeline: Pipeline) -> None:
    table = pd.read_csv(io.StringIO(pipeline.output("csv")))
    assert list(table.columns) == [
        "dataset",
        "network",
        "setup",
        "setup_key",
        "source",
        "imported",
        "method",
        "optimizer",
        "lr",
        "seeds",
        "left.acc",
        "left.acc.std",
        "right.acc",
        "right.acc.std",
        "delta_m",
        "delta_m.std",
        "task_lrs",
    ]
    assert sorted(table["method"]) == ["ew", "single-task", "uw"]

    store = pipeline.store()
    tests = store.selected_metrics(kind="mtl")
    tests = tests[tests["split"] == "test"].set_index("method")
    (key,) = set(tests["baseline_key"])
    baseline = store.baseline_values(key, "test")
    assert set(baseline) == {"left.acc", "right.acc"}

    for row in table.to_dict("records"):
        if row["method"] == "single-task":
            assert row["delta_m"] == 0.0
            assert row["left.acc"] == baseline["left.acc"]
            assert row["right.acc"] == baseline["right.acc"]
            continue
        stored = tests.loc[row["method"]]
        assert row["left.acc"] == stored["left.acc"]
        assert row["right.acc"] == stored["right.acc"]
        # ΔM = 100/K Σ_k s_k (M_k − B_k)/B_k with s_k = −1: accuracies are higher-is-better
        expected = (
            100
            / 2
            * sum(-(stored[m] - baseline[m]) / baseline[m] for m in ("left.acc", "right.acc"))
        )
        assert row["delta_m"] == pytest.approx(expected, rel=1e-12, abs=1e-12)
        assert row["seeds"] == 1 and pd.isna(row["delta_m.std"])  # one seed: no spread


def test_latex_environments_are_balanced(pipeline: Pipeline) -> None:
    latex = pipeline.output("latex")
    stack: list[str] = []
    for kind, environment in re.findall(r"\\(begin|end)\{(\w+)\}", latex):
        if kind == "begin":
            stack.append(environment)
        else:
            assert stack and stack.pop() == environment, latex
    assert not stack
    assert r"\begin{table}" in latex and r"\begin{tabular}" in latex
    assert "single-task" in latex and "uw" in latex


def test_markdown_is_a_table_with_one_row_per_method(pipeline: Pipeline) -> None:
    lines = [line for line in pipeline.output("markdown").splitlines() if line.startswith("|")]
    header, rule, *rows = lines
    assert "Method" in header and "ΔM" in header
    assert set(rule.replace("|", "").replace(" ", "")) <= set("-:")
    assert header.count("|") == rule.count("|") == rows[0].count("|")
    assert sorted(row.split("|")[1].strip() for row in rows) == ["ew", "single-task", "uw"]


def test_report_notes_how_each_run_was_selected(pipeline: Pipeline, spine) -> None:
    output = spine.flat(pipeline.output("terminal"))
    assert "validation ΔM" in output
    assert "1 run(s) picked their epoch by validation loss" in output


def test_pareto_lists_the_front_and_po_counts(pipeline: Pipeline, spine) -> None:
    output = spine.flat(pipeline.output("pareto"))
    assert "Pareto front — multimnist / multilenet" in output
    assert re.search(r"\b(1 of 2 runs is|2 of 2 runs are) Pareto-optimal", output)
    assert "Pareto-optimal runs by optimizer" in output
    assert "every learning rate" in spine.flat(pipeline.output("pareto all lrs"))


def test_report_writes_a_file_with_output(pipeline: Pipeline, spine, isolated: Path) -> None:
    target = isolated / "table.csv"
    result = spine.invoke(
        "report",
        "--dataset",
        "multimnist",
        "--format",
        "csv",
        "--output",
        str(target),
        "--db",
        str(pipeline.db),
    )
    assert result.exit_code == 0, result.output
    assert target.read_text() == pipeline.output("csv")


def test_runs_and_db_commands_read_the_database(pipeline: Pipeline, spine) -> None:
    db = ["--db", str(pipeline.db)]
    listed = spine.invoke("runs", *db, "--method", "uw")
    assert listed.exit_code == 0
    assert "1 run(s)" in listed.output and "uw" in listed.output
    info = spine.invoke("db", "info", *db)
    assert info.exit_code == 0
    assert f"schema {head_revision()} (the latest)" in spine.flat(info.output)
    assert "FINISHED 4" in spine.flat(info.output)
    upgraded = spine.invoke("db", "upgrade", *db)
    assert upgraded.exit_code == 0
    assert spine.flat(upgraded.output).strip() == (
        f"{pipeline.db}: already at schema {head_revision()} (the latest)"
    )


def test_train_records_one_run_and_skips_it_the_second_time(spine, isolated: Path) -> None:
    db = ["--db", str(isolated / "train.sqlite")]
    first = spine.invoke(
        "train", "multimnist", "--method", "uw", "--seed", "3", *spine.flags(), *db
    )
    assert first.exit_code == 0, first.output
    assert "FINISHED" in first.output
    assert "selected epoch 1 (val_loss) of 1" in first.output
    second = spine.invoke(
        "train", "multimnist", "--method", "uw", "--seed", "3", "--lr", "1e-3", *spine.flags(), *db
    )
    assert second.exit_code == 0, second.output
    assert "1 planned, 1 already finished" in spine.flat(second.output)
    (run,) = RunStore(open_database(db[1], create=False)).runs_frame().to_dict("records")
    assert (run["method"], run["seed"], run["lr"], run["attempt"]) == ("uw", 3, 1e-3, 1)


# ---- help and errors -------------------------------------------------------------------------

COMMANDS = {
    (): [
        "train",
        "sweep",
        "stl-baseline",
        "pareto",
        "report",
        "runs",
        "methods",
        "db",
        "status",
        "show",
        "retry",
        "cancel",
        "export",
        "--version",
    ],
    ("train",): [
        "--method",
        "--optimizer",
        "--lr",
        "--seed",
        "--epochs",
        "--set",
        "--device",
        "--db",
    ],
    ("sweep",): ["--methods", "--optimizers", "--lrs", "--seeds", "--dry-run", "--jacobian"],
    ("stl-baseline",): ["--tasks", "--optimizer", "--lrs", "--seeds", "--epochs", "--db"],
    ("pareto",): ["--dataset", "--network", "--all-lrs", "--db"],
    ("report",): ["--dataset", "--network", "--format", "--output", "--db"],
    ("runs",): ["--dataset", "--status", "--method", "--errors", "--db"],
    ("methods",): ["--help"],
    ("status",): ["--dataset", "--watch", "--interval", "--failures", "--db"],
    ("show",): ["--json", "--split", "--db"],
    ("retry",): ["--status", "--dataset", "--method", "--from-scratch", "--dry-run", "--device"],
    ("cancel",): ["--experiment", "--dataset", "--method", "--all", "--reason", "--db"],
    ("export",): ["--format", "--output", "--epochs", "--status", "--db"],
    ("db",): ["upgrade", "info"],
    ("db", "upgrade"): ["--db"],
    ("db", "info"): ["--db"],
}


@pytest.mark.parametrize("command", list(COMMANDS), ids=lambda c: " ".join(c) or "mtlx")
def test_help_of_every_command(spine, command: tuple[str, ...]) -> None:
    result = spine.invoke(*command, "--help")
    assert result.exit_code == 0, result.output
    assert "Usage: mtlx" in result.output
    for option in COMMANDS[command]:
        assert option in result.output, option


def test_methods_lists_every_registered_method_with_its_hyperparameters(spine) -> None:
    result = spine.invoke("methods")
    assert result.exit_code == 0
    names = METHODS.names()
    first_words = [line.split()[0] for line in result.output.splitlines() if line.strip()]
    assert [word for word in first_words if word in names] == names  # each once, in order
    assert "init_log_variance=-0.5" in result.output


def test_the_console_script_runs() -> None:
    script = Path(sys.executable).parent / "mtlx"
    result = subprocess.run(
        [str(script), "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith("mtlx ")


def test_pareto_on_a_missing_database_fails_clearly(spine, isolated: Path) -> None:
    result = spine.invoke("pareto", "--db", "missing.sqlite", "--dataset", "multimnist")
    assert result.exit_code == 2
    output = spine.flat(result.output)
    assert "missing.sqlite" in output and "no mtlx database there" in output
    assert "Traceback" not in output


def test_a_read_only_command_leaves_no_file_behind(spine, isolated: Path) -> None:
    result = spine.invoke("pareto", "--db", "typo/missing.sqlite", "--dataset", "multimnist")
    assert result.exit_code == 2
    assert not (isolated / "typo").exists()


def test_report_on_a_dataset_without_runs(pipeline: Pipeline, spine) -> None:
    result = spine.invoke("report", "--dataset", "nope", "--db", str(pipeline.db))
    assert result.exit_code == 2
    assert "no finished multi-task runs for dataset 'nope'" in spine.flat(result.output)


def test_report_refuses_an_unknown_format(pipeline: Pipeline, spine) -> None:
    result = spine.invoke(
        "report", "--dataset", "multimnist", "--format", "docx", "--db", str(pipeline.db)
    )
    assert result.exit_code == 2
    output = spine.flat(result.output)
    assert "'docx'" in output and "latex" in output and "csv" in output


@pytest.mark.parametrize("option", ["--methods", "--method"])
def test_unknown_method_lists_the_registered_ones(spine, isolated: Path, option: str) -> None:
    command = "sweep" if option == "--methods" else "train"
    extra = ["--dry-run"] if command == "sweep" else ["--db", str(isolated / "x.sqlite")]
    result = spine.invoke(
        command,
        "multimnist",
        option,
        "ew,pcgard" if command == "sweep" else "pcgard",
        *spine.flags(),
        *extra,
    )
    assert result.exit_code == 2, result.output
    output = spine.flat(result.output)
    assert "unknown method 'pcgard'" in output
    assert ", ".join(METHODS.names()) in output
    assert "Traceback" not in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lrs", "fastest"], "neither a grid"),
        (["--seeds", "two"], "seeds must be a count"),
        (["--set", "training.epochs=-1"], "training.epochs must be a positive integer"),
        (["--set", "trainig.epochs=2"], "unknown key 'trainig'"),
        (["--epochs", "0"], "--epochs"),
    ],
)
def test_bad_sweep_flags_exit_2_with_the_reason(spine, args: list[str], message: str) -> None:
    result = spine.invoke("sweep", "multimnist", "--methods", "ew", "--dry-run", *args)
    assert result.exit_code == 2, result.output
    assert message in spine.flat(result.output)


def test_unknown_experiment_says_where_it_looked(spine) -> None:
    result = spine.invoke("sweep", "multimnst", "--dry-run")
    assert result.exit_code == 2
    output = spine.flat(result.output)
    assert "no experiment named 'multimnst'" in output
    assert "multimnst.yaml" in output
