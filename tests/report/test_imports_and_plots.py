"""``mtlx import`` round trips and whole-file rejection; every plot written."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.collections import PathCollection
from matplotlib.markers import MarkerStyle
from typer.testing import CliRunner

from mtlx.analysis.comparison import DELTA_M, Selection, load_comparisons
from mtlx.analysis.summaries import method_summary
from mtlx.cli import app
from mtlx.report.plots import lr_plot, optimizers_plot
from mtlx.store.database import open_database
from mtlx.store.fixtures import SyntheticSweep, write_sweep
from mtlx.store.queries import imported_results
from mtlx.tasks.kinds import CLASSIFICATION

TASKS = {"left": CLASSIFICATION, "right": CLASSIFICATION}
STAR = MarkerStyle("*").get_path()
HEADER = "dataset,network,method,optimizer,lr,seed,left.acc,right.acc\n"
ROWS = (
    "multimnist,multilenet,EW,Adam,0.001,0,0.91,0.89\n"
    "multimnist,multilenet,EW,Adam,0.001,1,0.93,0.87\n"
    "multimnist,multilenet,rotograd,sgd,0.1,0,0.90,0.88\n"
)


def invoke(*args: str):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "250"})


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "results.sqlite")
    write_sweep(open_database(path), SyntheticSweep("multimnist", "multilenet", TASKS))
    return path


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_import_round_trips_and_a_second_import_adds_nothing(db: str, tmp_path: Path) -> None:
    results = write(tmp_path, "paper.csv", HEADER + ROWS)
    baseline = write(
        tmp_path,
        "stl.csv",
        "dataset,network,method,optimizer,lr,left.acc,right.acc\n"
        "multimnist,multilenet,STL,adam,,0.95,0.94\n",
    )
    first = invoke("import", str(results), "--source", "Paper 2024", "--db", db)
    assert first.exit_code == 0, first.output
    assert "3 result(s) imported" in first.output
    assert invoke("import", str(baseline), "--source", "Paper 2024", "--baseline", "--db", db)
    again = invoke("import", str(results), "--source", "Paper 2024", "--db", db)
    assert "0 result(s) imported" in again.output and "3 already there" in again.output
    stored = imported_results(open_database(db, create=False), kind="mtl")
    assert len(stored) == 3
    assert set(stored["method"]) == {"ew", "rotograd"}  # registered names as mtlx writes them
    assert set(stored["optimizer"]) == {"adam", "sgd"}

    without = pd.read_csv(io.StringIO(invoke("report", "--db", db, "--format", "csv").output))
    assert not without["imported"].any()
    table = pd.read_csv(
        io.StringIO(invoke("report", "--db", db, "--format", "csv", "--include-imported").output)
    )
    ew = table[(table["source"] == "Paper 2024") & (table["method"] == "ew")].iloc[0]
    assert ew["imported"] and ew["seeds"] == 2
    assert ew["left.acc"] == pytest.approx(0.92) and ew["right.acc"] == pytest.approx(0.88)
    # ΔM against the source's own baseline: 100/2 · (−(0.92−0.95)/0.95 − (0.88−0.94)/0.94)
    expected = 50 * ((0.95 - 0.92) / 0.95 + (0.94 - 0.88) / 0.94)
    assert ew["delta_m"] == pytest.approx(expected)
    terminal = invoke("report", "--db", db, "--include-imported").output
    assert "ew†" in terminal and "imported from Paper 2024" in " ".join(terminal.split())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (HEADER.replace("left.acc", "left.accuracy") + ROWS, "column left.accuracy: not a metric"),
        (HEADER.replace("optimizer,", "") + ROWS, "missing column(s) optimizer"),
        (HEADER + ROWS.replace("0.93", "n/a"), "line 3, column left.acc: 'n/a' is not a number"),
        (HEADER + ROWS.replace("multimnist,multilenet,rotograd", "mnist,multilenet,rotograd"),
         "line 4, column dataset: unknown dataset 'mnist'"),
        (HEADER + ROWS + ROWS.splitlines()[0] + "\n", "line 5: duplicates line 2"),
        (HEADER + ROWS.replace("0.91", "91.0"), "divide percentages by 100"),
        (HEADER + ROWS.replace("0.001,0,", ",0,", 1), "line 2, column lr: empty"),
    ],
)  # fmt: skip
def test_a_defective_file_is_rejected_whole(db: str, tmp_path: Path, text, message) -> None:
    path = write(tmp_path, "bad.csv", text)
    result = invoke("import", str(path), "--db", db)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert imported_results(open_database(db, create=False)).empty  # nothing half-imported


def test_conflicting_values_under_the_same_source_are_refused(db: str, tmp_path: Path) -> None:
    assert invoke("import", str(write(tmp_path, "a.csv", HEADER + ROWS)), "--db", db)
    changed = write(tmp_path, "b.csv", HEADER + ROWS.replace("0.89", "0.5"))
    result = invoke("import", str(changed), "--source", "a.csv", "--db", db)
    assert result.exit_code == 2
    assert "already imported from source 'a.csv' with other values" in " ".join(
        result.output.split()
    )


@pytest.mark.parametrize(
    ("command", "extra"),
    [
        ("pareto", []),
        ("pareto", ["--x", "left.acc", "--y", "right"]),
        ("parallel", []),
        ("lr", ["--metric", "left.acc"]),
        ("optimizers", []),
    ],
)
@pytest.mark.parametrize("suffix", [".png", ".pdf"])
def test_every_plot_is_written(db: str, tmp_path: Path, command, extra, suffix) -> None:
    target = tmp_path / f"figure{suffix}"
    result = invoke("plot", command, "--db", db, "--output", str(target), *extra)
    assert result.exit_code == 0, result.output
    head = target.read_bytes()[:8]
    assert head.startswith(b"\x89PNG" if suffix == ".png" else b"%PDF")


def test_curves_of_runs_by_key_prefix(db: str, tmp_path: Path) -> None:
    runs = invoke("runs", "--db", db, "--method", "uw").output.split()
    keys = [word for word in runs if len(word) == 16 and all(c in "0123456789abcdef" for c in word)]
    target = tmp_path / "curves.png"
    result = invoke("plot", "curves", keys[0][:8], keys[1], "--db", db, "--output", str(target))
    assert result.exit_code == 0, result.output
    assert target.read_bytes().startswith(b"\x89PNG")
    unknown = invoke("plot", "curves", "zzzz", "--db", db)
    assert unknown.exit_code == 2 and "no run whose key starts with 'zzzz'" in unknown.output


def _stars(axes) -> list[tuple[float, float]]:  # type: ignore[no-untyped-def]
    """The points drawn as stars (imported results) on ``axes``."""
    return [
        (round(float(x), 4), round(float(y), 3))
        for collection in axes.collections
        if isinstance(collection, PathCollection) and collection.get_label() != "_hidden"
        for x, y in collection.get_offsets()
        if collection.get_paths()[0].vertices.shape == STAR.vertices.shape
    ]


def test_lr_and_optimizer_plots_draw_imported_results_where_they_belong(
    db: str, tmp_path: Path
) -> None:
    """ΔM of imported results against their own source's baseline (left .92, right .90):
    rotograd + SGD at 0.1 → 50 (0.02/0.92 + 0.02/0.90) = 2.198; EW + Adam at 0.001, the mean
    of its two seeds → 1.111. Each is a star, and the figure says what its sign stands for."""
    baseline = "dataset,network,method,optimizer,lr,left.acc,right.acc\n"
    baseline += "multimnist,multilenet,stl,adam,0.001,0.92,0.90\n"
    assert invoke(
        "import", str(write(tmp_path, "r.csv", HEADER + ROWS)), "--source", "P", "--db", db
    )
    assert invoke(
        "import", str(write(tmp_path, "b.csv", baseline)), "--source", "P", "--baseline", "--db", db
    )
    (comparison,) = load_comparisons(
        open_database(db, create=False), Selection(include_imported=True)
    )
    marks = {"P": "†"}

    figure = lr_plot(comparison, DELTA_M, marks)
    adam, sgd = [axes for axes in figure.axes if axes.get_title(loc="left") in ("adam", "sgd")]
    assert _stars(adam) == [(0.001, 1.111)] and _stars(sgd) == [(0.1, 2.198)]
    assert "imported: † P" in figure._suptitle.get_text()

    figure = optimizers_plot(comparison, method_summary(comparison), DELTA_M, marks)
    (axes,) = figure.axes
    methods = [label.get_text() for label in axes.get_xticklabels()]
    assert methods == ["ew", "uw", "rotograd"]
    stars = dict((y, x) for x, y in _stars(axes))
    assert set(stars) == {1.111, 2.198}
    assert round(stars[2.198]) == methods.index("rotograd")  # over rotograd's place
    assert round(stars[1.111]) == methods.index("ew")
    assert "imported: † P" in axes.get_title(loc="left")
    for command in ("lr", "optimizers"):
        target = tmp_path / f"{command}.png"
        result = invoke("plot", command, "--include-imported", "--db", db, "--output", str(target))
        assert result.exit_code == 0, result.output
        assert target.read_bytes().startswith(b"\x89PNG")
