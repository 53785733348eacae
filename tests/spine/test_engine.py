"""Training: per-epoch metrics of every split, model selection on validation only, seeding."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

import mtlx.engine.trainer as trainer
from mtlx.data import build_dataset
from mtlx.dispatch.plan import RunPlan
from mtlx.dispatch.sweep import run_sweep
from mtlx.dispatch.worker import selection_rule
from mtlx.engine.trainer import EpochResult, SelectionRule, train
from mtlx.store.database import open_database
from mtlx.store.runs import RunStore

# Two training steps of 64 per epoch: enough to test the loop, cheap on two CPU cores.
SIZES = {"train_pairs": 128, "val_pairs": 32, "test_pairs": 32}
SIZE_OVERRIDES = [f"dataset.{name}={count}" for name, count in SIZES.items()]
METRICS = {"left.acc", "right.acc", "left.loss", "right.loss"}


@pytest.fixture(scope="module")
def data():
    return build_dataset("multimnist", None, **SIZES)


def tiny_config(spine, epochs: int = 2, method: str = "ew", seed: int = 0, **options):
    optimizer = options.get("optimizer", "adam")
    overrides = [*SIZE_OVERRIDES, "training.batch_size=64", *options.get("overrides", ())]
    spec = spine.spec(*overrides, epochs=epochs)
    return spec.run_config(spec.tasks, method, optimizer, options.get("lr", 1e-3), seed)


def run(config, data, **kwargs) -> tuple[trainer.TrainingOutcome, list[EpochResult]]:
    results: list[EpochResult] = []
    outcome = train(config, data, "cpu", on_epoch=results.append, **kwargs)
    return outcome, results


@pytest.mark.parametrize("method", ["ew", "uw"])
def test_every_epoch_records_train_val_and_test(spine, data, method: str) -> None:
    outcome, results = run(tiny_config(spine, epochs=2, method=method), data)
    assert [r.epoch for r in results] == [1, 2]
    assert outcome.epochs_completed == 2 and outcome.diverged_at is None
    for result in results:
        assert set(result.metrics) == {"train", "val", "test"}
        assert set(result.metrics["train"]) == {
            "left.loss",
            "right.loss",
            "weight.left",
            "weight.right",
        }
        assert set(result.metrics["val"]) == METRICS | {"selection_score"}
        assert set(result.metrics["test"]) == METRICS
        for split in ("val", "test"):
            for task in ("left", "right"):
                accuracy = result.metrics[split][f"{task}.acc"]
                assert 0.0 <= accuracy <= 1.0
                n = SIZES[f"{split}_pairs"]
                assert accuracy * n == pytest.approx(round(accuracy * n))  # k of n right
                # ten classes: the cross-entropy of an untrained network is near ln 10
                assert 4.0 > result.metrics[split][f"{task}.loss"] > 1.0
    weights = [r.metrics["train"]["weight.left"] for r in results]
    if method == "ew":
        assert weights == [1.0, 1.0]
    else:  # UW reports ½·exp(−s): ½·e^0.5 ≈ 0.82 at LibMTL's s = −0.5, then moves as s learns
        start = 0.5 * math.exp(0.5)
        assert all(start - 0.2 < w < start + 0.2 for w in weights) and weights[0] != start
    assert results[0].metrics["val"] != results[1].metrics["val"]


def test_val_loss_rule_selects_the_lowest_validation_loss(spine, data) -> None:
    outcome, results = run(tiny_config(spine, epochs=3), data)
    assert outcome.selection_rule == "val_loss"
    scores = [r.metrics["val"]["left.loss"] + r.metrics["val"]["right.loss"] for r in results]
    for result, score in zip(results, scores, strict=True):
        assert result.score == pytest.approx(score)
        assert result.metrics["val"]["selection_score"] == result.score
    assert outcome.selected_epoch == 1 + scores.index(min(scores))


@pytest.mark.parametrize(
    ("scores", "selected"),
    [([3.0, 1.0, 2.0], 2), ([1.0, 1.0, 0.5], 3), ([math.nan, 5.0, 7.0], 2), ([math.nan] * 3, 1)],
)
def test_selection_takes_the_first_lowest_finite_score(
    spine, data, scores: list[float], selected: int
) -> None:
    scripted = iter(scores)
    rule = SelectionRule("scripted", lambda metrics: next(scripted))
    outcome, _ = run(tiny_config(spine, epochs=3), data, selection=rule)
    assert (outcome.selected_epoch, outcome.selection_rule) == (selected, "scripted")


def test_model_selection_never_reads_test(spine, data, monkeypatch) -> None:
    config = tiny_config(spine, epochs=3)
    seen: list[dict[str, float]] = []

    def val_loss(metrics) -> float:
        seen.append(dict(metrics))
        return metrics["left.loss"] + metrics["right.loss"]

    clean, clean_results = run(config, data, selection=SelectionRule("val_loss", val_loss))
    # the rule saw exactly the validation metrics, every epoch
    assert seen == [
        {k: v for k, v in r.metrics["val"].items() if k != "selection_score"} for r in clean_results
    ]

    # Poison the test split so that, read by selection, it would pick another epoch
    lure = 1 if clean.selected_epoch != 1 else 2
    real_evaluate = trainer.evaluate
    test_calls = []

    def poisoned(network, tasks, loader, device, *args):
        metrics = real_evaluate(network, tasks, loader, device, *args)
        if loader.dataset is data.test:
            test_calls.append(1)
            good = len(test_calls) == lure
            return {
                name: (1.0 if good else 0.0) if name.endswith(".acc") else (-1e9 if good else 1e9)
                for name in metrics
            }
        return metrics

    monkeypatch.setattr(trainer, "evaluate", poisoned)
    poisoned_outcome, poisoned_results = run(config, data)
    assert len(test_calls) == 3
    assert poisoned_results[lure - 1].metrics["test"]["left.loss"] == -1e9
    assert poisoned_outcome.selected_epoch == clean.selected_epoch
    assert [r.metrics["val"] for r in poisoned_results] == [r.metrics["val"] for r in clean_results]

    def nan_test(network, tasks, loader, device, *args):
        metrics = real_evaluate(network, tasks, loader, device, *args)
        return {k: math.nan for k in metrics} if loader.dataset is data.test else metrics

    monkeypatch.setattr(trainer, "evaluate", nan_test)
    assert run(config, data)[0].selected_epoch == clean.selected_epoch


def test_same_seed_same_metrics_other_seed_other_metrics(spine, data) -> None:
    first = [r.metrics for r in run(tiny_config(spine, epochs=1, seed=0), data)[1]]
    again = [r.metrics for r in run(tiny_config(spine, epochs=1, seed=0), data)[1]]
    other = [r.metrics for r in run(tiny_config(spine, epochs=1, seed=1), data)[1]]
    assert first == again
    assert first[0]["train"] != other[0]["train"]
    assert first[0]["val"] != other[0]["val"]


def test_divergence_stops_training_and_is_reported(spine, data) -> None:
    config = tiny_config(spine, epochs=3, optimizer="sgd", lr=1e8)
    outcome, results = run(config, data)
    assert outcome.diverged_at is not None and outcome.diverged_at < 3
    assert outcome.epochs_completed == outcome.diverged_at == len(results)  # stopped there
    last = results[-1].metrics["train"]
    assert not math.isfinite(last["left.loss"] + last["right.loss"])
    assert all(math.isfinite(r.metrics["train"]["left.loss"]) for r in results[:-1])


# ---- the selection rule a run gets from the store ----------------------------------------------


def baseline_rows(key: str, split: str, left: float, right: float) -> list[dict]:
    return [
        {
            "baseline_key": key,
            "dataset": "multimnist",
            "network": "multilenet",
            "task": task,
            "split": split,
            "metric": f"{task}.acc",
            "value": value,
            "std": None,
            "seeds": 1,
            "lr": 1e-3,
            "source": "test",
            "source_run_keys": [],
        }
        for task, value in (("left", left), ("right", right))
    ]


def test_selection_rule_is_val_delta_m_only_with_a_baseline_for_the_runs_setup(
    spine, data, isolated: Path
) -> None:
    store = RunStore(open_database(str(isolated / "results.sqlite")))
    config = tiny_config(spine)
    tasks = [data.task(name) for name in config.tasks]
    assert selection_rule(config, tasks, store).name == "val_loss"

    other_setup = tiny_config(spine, epochs=5)
    store.save_baselines(baseline_rows(other_setup.baseline_key, "val", 0.9, 0.8))
    store.save_baselines(baseline_rows(config.baseline_key, "test", 0.9, 0.8))
    assert selection_rule(config, tasks, store).name == "val_loss"  # other setup, or test only

    store.save_baselines(baseline_rows(config.baseline_key, "val", 0.8, 0.5))
    rule = selection_rule(config, tasks, store)
    assert rule.name == "val_delta_m"
    metrics = {"left.acc": 0.6, "right.acc": 0.6, "left.loss": 1.0, "right.loss": 1.0}
    # ΔM = 100/2 · (−(0.6 − 0.8)/0.8 − (0.6 − 0.5)/0.5) = 100/2 · (0.25 − 0.2) = 2.5
    assert rule.score(metrics) == pytest.approx(2.5)
    assert rule.score({**metrics, "left.loss": 99.0}) == pytest.approx(2.5)  # loss is not ΔM

    # single-task baselines stop on their validation loss (the seed paper, A3.2), never ΔM
    stl = tiny_config(spine, method="stl", overrides=["tasks=[right]"])
    stl_rule = selection_rule(stl, [data.task("right")], store)
    assert stl_rule.name == "val_loss"
    better_metric_worse_loss = {"right.acc": 0.9, "right.loss": 2.0}
    assert stl_rule.score(better_metric_worse_loss) > stl_rule.score(
        {"right.acc": 0.1, "right.loss": 1.0}
    )


def test_runs_record_the_rule_and_epoch_they_were_selected_by(spine, isolated: Path) -> None:
    runtime = spine.runtime(isolated / "results.sqlite")
    store = runtime.store
    before = tiny_config(spine, epochs=3, seed=0)
    run_sweep([RunPlan(before, "multimnist")], runtime)

    store.save_baselines(baseline_rows(before.baseline_key, "val", 0.2, 0.2))
    after = tiny_config(spine, epochs=3, seed=1)
    diverging = tiny_config(spine, epochs=3, optimizer="sgd", lr=1e8)
    run_sweep([RunPlan(after, "multimnist"), RunPlan(diverging, "multimnist")], runtime)

    runs = store.runs_frame().set_index("run_key")
    assert runs.loc[before.run_key, "selection_rule"] == "val_loss"
    assert runs.loc[after.run_key, "selection_rule"] == "val_delta_m"
    for config in (before, after):
        history = store.epoch_history(config.run_key)
        val = history[history["split"] == "val"].pivot(
            index="epoch", columns="metric", values="value"
        )
        assert runs.loc[config.run_key, "status"] == "FINISHED"
        assert runs.loc[config.run_key, "epochs_completed"] == 3
        assert runs.loc[config.run_key, "selected_epoch"] == val["selection_score"].idxmin()
        if config is before:
            expected = val["left.loss"] + val["right.loss"]
        else:
            expected = 100 / 2 * (-(val["left.acc"] - 0.2) / 0.2 - (val["right.acc"] - 0.2) / 0.2)
        assert val["selection_score"].to_numpy() == pytest.approx(expected.to_numpy())
        assert set(history["split"]) == {"train", "val", "test"}

    assert runs.loc[diverging.run_key, "status"] == "FINISHED"
    assert "diverged" in runs.loc[diverging.run_key, "note"]
    assert pd.isna(runs.loc[diverging.run_key, "error"])
    assert runs.loc[diverging.run_key, "epochs_completed"] < 3
