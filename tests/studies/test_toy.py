"""The CAGrad toy task: the paper's robust cells exactly, the criterion, the update rules, the
command."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from mtlx.store.database import open_database
from mtlx.store.studies import StudyStore
from mtlx.studies.toy import (
    PAPER_TABLE,
    Adam,
    GradientDescent,
    ToyPlan,
    cell_lookup,
    matches_paper,
    run_toy,
    starts_frame,
    table_cells,
    toy_losses,
)


def cells_of(plan: ToyPlan) -> dict[tuple[str, str, float], int | None]:
    return cell_lookup(table_cells(starts_frame(run_toy(plan))))


def test_adam_ew_robust_cells_are_the_papers() -> None:
    # Table 1 / A3: Adam + EW reaches the optimum in 22 iterations at lr 1 and 709 at lr 0.1
    cells = cells_of(
        ToyPlan(
            methods=("ew",), optimizers=("adam",), lrs=(10.0, 1.0, 0.5, 0.1), max_iterations=800
        )
    )
    assert cells == {
        ("adam", "ew", 10.0): 26,
        ("adam", "ew", 1.0): 22,
        ("adam", "ew", 0.5): 58,
        ("adam", "ew", 0.1): 709,
    }


def test_gradient_methods_robust_cells_are_the_papers() -> None:
    plan = ToyPlan(
        methods=("pcgrad", "cagrad"), optimizers=("adam",), lrs=(10.0, 1.0), max_iterations=100
    )
    cells = cells_of(plan)
    for key in [("adam", "pcgrad", 10.0), ("adam", "pcgrad", 1.0), ("adam", "cagrad", 1.0)]:
        assert cells[key] == PAPER_TABLE[key]


def test_a_problem_does_not_depend_on_the_others_in_its_batch() -> None:
    alone = starts_frame(run_toy(ToyPlan(methods=("mgda",), lrs=(0.5,), max_iterations=300)))
    together = starts_frame(
        run_toy(ToyPlan(methods=("ew", "mgda"), lrs=(5.0, 0.5), max_iterations=300))
    )
    shared = together[(together.method == "mgda") & (together.lr == 0.5)].reset_index(drop=True)
    assert shared.equals(alone)


def test_criterion_counts_from_the_start_point_and_never_is_missing() -> None:
    # every start point is below +∞ at once: iteration 0
    at_start = cells_of(
        ToyPlan(
            methods=("ew",), optimizers=("gd",), lrs=(1.0,), max_iterations=5, threshold=math.inf
        )
    )
    assert at_start == {("gd", "ew", 1.0): 0}
    # GD + EW at lr 1 never reaches the optimum: the paper's "–"
    never = starts_frame(
        run_toy(ToyPlan(methods=("ew",), optimizers=("gd",), lrs=(1.0,), max_iterations=200))
    )
    assert never["iterations"].isna().any()
    assert cell_lookup(table_cells(never)) == {("gd", "ew", 1.0): None}


def test_losses_match_the_reference_definition_at_the_start_points() -> None:
    points = torch.tensor([[-8.5, 7.5], [-8.5, -5.0], [9.0, 9.0], [0.0, -8.3552]])
    losses = toy_losses(points).double()
    x1, x2 = points.double().unbind(-1)
    c1 = torch.tanh(x2 / 2).clamp_min(0)
    c2 = torch.tanh(-x2 / 2).clamp_min(0)
    f1 = ((0.5 * (-x1 - 7) - torch.tanh(-x2)).abs().clamp_min(5e-6)).log() + 6
    f2 = ((0.5 * (-x1 + 3) + torch.tanh(-x2) + 2).abs().clamp_min(5e-6)).log() + 6
    g1 = ((-x1 + 7) ** 2 + 0.1 * (-x2 - 8) ** 2) / 10 - 20
    g2 = ((-x1 - 7) ** 2 + 0.1 * (-x2 - 8) ** 2) / 10 - 20
    expected = torch.stack([c1 * f1 + c2 * g1, c1 * f2 + c2 * g2], dim=-1)
    torch.testing.assert_close(losses, expected, rtol=1e-5, atol=1e-5)
    assert losses[-1].mean() < -15.0  # the global optimum is below the threshold


def test_gradient_descent_is_pytorchs_sgd_bit_for_bit() -> None:
    generator = torch.Generator().manual_seed(0)
    lrs = torch.tensor([10.0, 1.0, 0.05, 0.001], dtype=torch.float64)
    x = torch.randn(4, 2, generator=generator)
    reference = x.clone()
    rule = GradientDescent(lrs)
    for _ in range(20):
        direction = torch.randn(4, 2, generator=generator)
        rule.step(x, direction)
        for row, lr in enumerate(lrs.tolist()):
            parameter = torch.nn.Parameter(reference[row].clone())
            optimizer = torch.optim.SGD([parameter], lr=lr)
            parameter.grad = direction[row].clone()
            optimizer.step()
            reference[row] = parameter.detach()
        assert torch.equal(x, reference)


def test_adam_rule_is_adam_with_one_learning_rate_per_problem() -> None:
    generator = torch.Generator().manual_seed(0)
    lrs = torch.tensor([1.0, 0.01], dtype=torch.float64)
    x = torch.randn(2, 2, generator=generator)
    parameters = [torch.nn.Parameter(x[row].clone()) for row in range(2)]
    optimizers = [
        torch.optim.Adam([p], lr=lr) for p, lr in zip(parameters, lrs.tolist(), strict=True)
    ]
    rule = Adam(lrs)
    for _ in range(50):
        direction = torch.randn(2, 2, generator=generator)
        rule.step(x, direction)
        for row in range(2):
            parameters[row].grad = direction[row].clone()
            optimizers[row].step()
    # the same maths; torch ≥ 2 rounds the first moment differently (lerp)
    torch.testing.assert_close(
        x, torch.stack([p.detach() for p in parameters]), rtol=1e-5, atol=1e-6
    )


def test_paper_comparison_only_in_the_papers_setting() -> None:
    run = run_toy(ToyPlan(methods=("ew",), optimizers=("adam",), lrs=(1.0,), max_iterations=50))
    assert not table_cells(starts_frame(run), comparable=False)["in_paper"].any()
    cells = table_cells(starts_frame(run))
    assert matches_paper(cells).all()


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--methods", "ew,nash-mtl", "no method 'nash-mtl'"),
        ("--optimizers", "sgd", "no optimizer 'sgd'"),
        ("--lrs", "1,fast", "--lrs takes numbers"),
        ("--lrs", "1,-2", "must be positive"),
    ],
)
def test_bad_settings_are_one_line_and_exit_2(
    invoke, workdir: Path, option, value, message
) -> None:
    result = invoke("toy", option, value, "--no-plot")
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (workdir / "results.sqlite").exists()


def test_command_prints_json_stores_the_run_and_draws(invoke, workdir: Path) -> None:
    result = invoke(
        "toy",
        "--methods",
        "ew,mgda",
        "--optimizers",
        "adam",
        "--lrs",
        "1,0.1",
        "--iterations",
        "800",
        "--json",
        "--plot",
        "trajectories.png",
        "--plot-lrs",
        "1",
    )
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert {"optimizer": "adam", "method": "ew", "lr": 1.0, "iterations": 22} in printed
    assert {"optimizer": "adam", "method": "ew", "lr": 0.1, "iterations": 709} in printed
    assert all(set(row) == {"optimizer", "method", "lr", "iterations"} for row in printed)
    assert len(printed) == 4

    store = StudyStore(open_database(str(workdir / "results.sqlite"), create=False))
    run = store.latest("toy")
    assert run.parameters["lrs"] == [1.0, 0.1]
    assert run.provenance["git_commit"] == "0" * 40
    values = store.values(run.id)
    assert len(values) == 2 * 2 * 3  # methods × lrs × start points
    assert set(values.columns) == {"optimizer", "method", "lr", "start", "metric", "step", "value"}

    png = workdir / "trajectories.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 50_000


def test_command_prints_the_table_in_the_papers_layout(invoke, workdir: Path) -> None:
    result = invoke(
        "toy", "--methods", "ew,pcgrad", "--lrs", "10,1", "--iterations", "100", "--no-plot"
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    gd = next(line for line in lines if "GD" in line)
    adam = next(line for line in lines if "Adam" in line)
    assert "EW" in gd and "EW" in adam
    assert "22" in adam and "26" in adam
    assert "Criterion" in result.stdout


@pytest.mark.slow
def test_the_whole_table_matches_the_papers_robust_cells() -> None:
    cells = table_cells(starts_frame(run_toy(ToyPlan())))
    lookup = cell_lookup(cells)
    for lr, expected in [(10.0, 26), (5.0, 37), (1.0, 22), (0.5, 58), (0.1, 709), (0.05, 2135)]:
        assert lookup[("adam", "ew", lr)] == expected
    assert lookup[("adam", "ew", 0.001)] is None
    assert all(lookup[("gd", "pcgrad", lr)] is None for lr in (10.0, 1.0, 0.1))
    assert matches_paper(cells).sum() >= 34  # README: which cells match, and why others cannot
