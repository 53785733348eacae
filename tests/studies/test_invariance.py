"""Loss-scale invariance: the paper's claims (appendix A1–A2) are the test."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from mtlx.store.database import open_database
from mtlx.store.studies import StudyStore
from mtlx.studies.invariance import InvariancePlan, invariance_table, run_invariance

TINY = {"steps": 4, "samples": 16}
NEGLIGIBLE = 1e-4  # float32 rounding of the scaled losses, nothing more


def summary(plan: InvariancePlan) -> pd.DataFrame:
    table = invariance_table(run_invariance(plan).differences)
    return table.set_index(["method", "optimizer", "backbone", "part"]).sort_index()


@pytest.fixture(scope="module")
def with_adam_eps() -> pd.DataFrame:
    return summary(InvariancePlan(**TINY))


@pytest.fixture(scope="module")
def without_adam_eps() -> pd.DataFrame:
    return summary(InvariancePlan(**TINY, adam_eps=1e-20))


def test_sgd_is_not_invariant_and_a_loss_scale_is_a_learning_rate(with_adam_eps) -> None:
    frozen = with_adam_eps.loc[("ew", "sgd", "frozen")]
    # a head's first update is scaled by its task's loss scale: 10 → difference 9, 0.1 → 0.9
    assert frozen.loc["head:depth_a", "first_step_relative_update_difference"] == pytest.approx(
        9, rel=1e-4
    )
    assert frozen.loc["head:depth_b", "first_step_relative_update_difference"] == pytest.approx(
        0.9, rel=1e-4
    )
    free = with_adam_eps.loc[("ew", "sgd", "free")]
    assert (free["max_relative_update_difference"] > 0.5).all()


def test_adam_heads_are_invariant_up_to_eps_and_far_from_sgd(
    with_adam_eps, without_adam_eps
) -> None:
    sgd = with_adam_eps.loc[("ew", "sgd", "frozen"), "max_relative_update_difference"]
    adam = with_adam_eps.loc[("ew", "adam", "frozen"), "max_relative_update_difference"]
    assert (adam < sgd / 10).all()
    # what remains is Adam's ε: it vanishes with ε
    assert (
        without_adam_eps.loc[("ew", "adam", "frozen"), "max_relative_update_difference"]
        < NEGLIGIBLE
    ).all()


def test_adam_backbone_is_not_invariant_and_heads_only_at_the_first_step(without_adam_eps) -> None:
    free = without_adam_eps.loc[("ew", "adam", "free")]
    assert free.loc["backbone", "first_step_relative_update_difference"] > 0.1
    heads = free.loc[["head:depth_a", "head:depth_b"]]
    assert (heads["first_step_relative_update_difference"] < NEGLIGIBLE).all()
    assert (heads["max_relative_update_difference"] > 0.01).all()  # then the features differ


@pytest.mark.parametrize(
    ("method", "optimizer", "backbone"),
    [("uw-o", "sgd", "frozen"), ("uw-o", "sgd", "free"), ("adatask", "adam", "free")],
)
def test_uw_o_and_per_task_adam_are_invariant_everywhere(
    without_adam_eps, method, optimizer, backbone
) -> None:
    rows = without_adam_eps.loc[(method, optimizer, backbone)]
    assert (rows["max_relative_update_difference"] < NEGLIGIBLE).all()


def test_uw_o_is_invariant_whatever_adams_eps(with_adam_eps) -> None:
    rows = with_adam_eps.loc[("uw-o", "sgd", "free")]
    assert (rows["max_relative_update_difference"] < NEGLIGIBLE).all()


def test_command_prints_json_stores_the_series_and_draws(invoke, workdir: Path) -> None:
    result = invoke("invariance", "--steps", "3", "--json", "--plot", "figures.png")
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert all(
        set(row) == {"method", "optimizer", "backbone", "part", "max_relative_update_difference"}
        for row in printed
    )
    assert {(row["backbone"], row["part"]) for row in printed} >= {
        ("frozen", "head:depth_a"),
        ("free", "backbone"),
    }
    sgd = next(
        r
        for r in printed
        if (r["method"], r["backbone"], r["part"]) == ("ew", "frozen", "head:depth_a")
    )
    assert sgd["max_relative_update_difference"] == pytest.approx(9, rel=1e-3)

    store = StudyStore(open_database(str(workdir / "results.sqlite"), create=False))
    run = store.latest("invariance")
    assert run.parameters["steps"] == 3
    values = store.values(run.id)
    updates = values[values.metric == "update_norm"]
    assert len(updates) == 3 * 2 * (3 * 2 + 4 * 3)  # steps × scaled × (frozen + free parts)
    assert (workdir / "figures.png").stat().st_size > 50_000


def test_bad_setting_is_one_line_and_exit_2(invoke, workdir: Path) -> None:
    result = invoke("invariance", "--lr", "-1", "--no-plot")
    assert result.exit_code == 2
    assert "lr must be positive" in result.output
