"""Multi-task features under common corruptions (Elich et al., appendix A6, eq. 26).

A finished multi-task run and its single-task counterparts — for each task, the single-task run
its baseline was derived from (the one with the multi-task run's seed when there is one) — each
rebuilt from the weights kept of its selected epoch. Every backbone is frozen (no gradient, its
batch normalisation on its running statistics); the heads are fine-tuned on corrupted training
images, a corruption and a severity drawn per sample (:func:`mtlx.studies.corruptions.
random_corruptions`), all networks in lockstep on the very same corrupted batches, with the sum
of their task losses (with a frozen backbone each head sees exactly its own loss's gradient, so
no weighting method enters); then every network is evaluated on the test split under every
corruption at every severity, corrupted once per batch for all networks alike.

Relative robustness of metric k under corruption c at severity l:

    drop_m = s_k · (M_m − M_m(c, l)) / M_m    m ∈ {MTL, STL}; s_k = +1 if higher is better, else −1
    R_k(c, l) = drop_STL − drop_MTL

M_m is the metric of network m as it was trained (its kept weights, clean test split), M_m(c, l)
after fine-tuning, on the test split under c at severity l; a drop is a fraction, positive when
the network lost performance. R > 0: the multi-task features lost less — MTL is more robust;
R < 0: STL is. The table reports, as the paper's, each corruption's mean over the severities;
its last row the mean over the corruptions.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from mtlx.errors import UserError

if TYPE_CHECKING:
    from pathlib import Path

    from rich.console import Console

    from mtlx.data import DatasetSplits
    from mtlx.models import MultiTaskNetwork
    from mtlx.store.entities import RunRecord
    from mtlx.store.runs import RunStore
    from mtlx.store.studies import StudyNumber
    from mtlx.tasks import Task

SEVERITIES = (1, 2, 3, 4, 5)
CLEAN = "none"  # the corruption of the clean test split
FAMILIES = ("noise", "blur", "weather", "digital")


class RobustnessError(UserError, ValueError):
    """A run the robustness study cannot start from, or a setting it cannot run."""


@dataclass(frozen=True)
class RobustnessPlan:
    """What to fine-tune and how; ``corruptions`` empty means all registered ones."""

    run_key: str
    epochs: int = 5
    lr: float = 1e-3
    optimizer: str = "adam"
    batch_size: int | None = None  # default: the run's training batch size
    seed: int = 0
    corruptions: tuple[str, ...] = ()
    severities: tuple[int, ...] = SEVERITIES

    def __post_init__(self) -> None:
        if self.epochs < 0:
            raise RobustnessError(f"--epochs must be 0 or more, but got {self.epochs}")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise RobustnessError(f"--lr must be positive, but got {self.lr}")
        if self.batch_size is not None and self.batch_size < 1:
            raise RobustnessError(f"--batch-size must be at least 1, but got {self.batch_size}")
        from mtlx.optim import OPTIMIZERS

        if self.optimizer not in OPTIMIZERS:
            raise RobustnessError(
                f"--optimizer must be one of {', '.join(OPTIMIZERS.names())}, but got "
                f"{self.optimizer!r}"
            )
        bad = [s for s in self.severities if s not in SEVERITIES]
        if bad or not self.severities:
            raise RobustnessError(
                f"--severities must be among 1, 2, 3, 4, 5, but got "
                f"{', '.join(map(str, self.severities)) or 'none'}"
            )

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


# ---- the networks compared --------------------------------------------------------------------


@dataclass(frozen=True)
class KeptNetwork:
    """A finished run whose selected epoch's weights were kept."""

    role: str  # "mtl" or "stl"
    run_key: str
    tasks: tuple[str, ...]
    seed: int
    config: dict[str, Any]
    checkpoint_path: str
    selected_epoch: int


def networks_to_compare(store: RunStore, run_key: str) -> list[KeptNetwork]:
    """The multi-task run ``run_key`` and, per task, the single-task run behind its baseline;
    refused in one line when one is missing, unfinished or kept no weights."""
    try:
        record = store.run(run_key)
    except KeyError:
        raise RobustnessError(f"no run {run_key!r} in this database") from None
    if record.kind != "mtl":
        raise RobustnessError(
            f"run {run_key} is a single-task run; give a multi-task run (its single-task "
            "counterparts are found through its baseline)"
        )
    mtl = _kept(record, "mtl", f"run {run_key}")
    baselines = store.baselines_frame(baseline_key=record.baseline_key)
    networks = [mtl]
    for task in mtl.tasks:
        rows = baselines[baselines["task"] == task] if not baselines.empty else baselines
        if rows.empty:
            raise RobustnessError(
                f"run {run_key} has no single-task baseline for task {task!r} (baseline key "
                f"{record.baseline_key}); train it with `mtlx stl-baseline {record.experiment}`"
            )
        source_keys = sorted({key for keys in rows["source_run_keys"] for key in keys})
        if not source_keys:
            raise RobustnessError(
                f"the baseline of task {task!r} was imported ({rows['source'].iloc[0]}): there is "
                "no single-task run to take weights from; train one with `mtlx stl-baseline "
                f"{record.experiment}`"
            )
        found = store.runs_by_key(source_keys)
        missing = [key for key in source_keys if key not in found]
        if missing:
            raise RobustnessError(
                f"the baseline of task {task!r} names single-task run {missing[0]}, which this "
                "database does not hold"
            )
        candidates = sorted(found.values(), key=lambda run: (run.seed != record.seed, run.seed))
        networks.append(
            _kept(
                candidates[0],
                "stl",
                f"single-task run {candidates[0].run_key} "
                f"(task {task!r}, the baseline of run {run_key})",
            )
        )
    return networks


def _kept(record: RunRecord, role: str, name: str) -> KeptNetwork:
    if record.status != "FINISHED":
        raise RobustnessError(f"{name} is {record.status}, not FINISHED: it has no final weights")
    if not record.checkpoint_path:
        raise RobustnessError(
            f"{name} kept no weights (trained with --keep none); the study needs the weights of "
            "its selected epoch (--keep selected, the default)"
        )
    return KeptNetwork(
        role=role,
        run_key=record.run_key,
        tasks=tuple(record.tasks.split(",")),
        seed=int(record.seed),
        config=dict(record.config),
        checkpoint_path=record.checkpoint_path,
        selected_epoch=int(record.selected_epoch),
    )


def load_network(kept: KeptNetwork, data: DatasetSplits, device: str) -> MultiTaskNetwork:
    """The network of ``kept`` with the weights of its selected epoch."""
    from mtlx.engine.checkpoint import load_checkpoint
    from mtlx.models import build_network
    from mtlx.spec import RunConfig

    state = load_checkpoint(kept.checkpoint_path)
    if state.get("run_key") != kept.run_key or "model" not in state:
        raise RobustnessError(
            f"{kept.checkpoint_path} does not hold the kept weights of run {kept.run_key}"
        )
    if int(state["epoch"]) != kept.selected_epoch:
        raise RobustnessError(
            f"run {kept.run_key} kept the weights of epoch {state['epoch']} (--keep last), not "
            f"of its selected epoch {kept.selected_epoch}"
        )
    config = RunConfig.from_dict(kept.config)
    tasks = [data.task(name) for name in config.tasks]
    options = {k: v for k, v in config.network.items() if k != "name"}
    network = build_network(config.network["name"], tasks, data.input_shape, **options)
    network.load_state_dict(state["model"])
    return network.to(device)


# ---- run --------------------------------------------------------------------------------------


@dataclass
class FineTuning:
    """One network whose heads learn on corrupted images over a frozen backbone.

    Its heads' dropout draws from a random stream of its own (seeded with the study's seed), so
    a network fine-tunes the same whichever networks are fine-tuned beside it.
    """

    kept: KeptNetwork
    network: MultiTaskNetwork
    tasks: list[Task]
    optimizer: Any
    random_state: Any  # (CPU generator state, CUDA generator state or None)

    def step(self, inputs, targets) -> None:
        import torch

        cuda = cuda_index(inputs.device)
        with torch.random.fork_rng(devices=[cuda] if cuda is not None else []):
            torch.set_rng_state(self.random_state[0])
            if cuda is not None:
                torch.cuda.set_rng_state(self.random_state[1], cuda)
            self.optimizer.zero_grad(set_to_none=True)
            with torch.no_grad():
                representation = self.network.encoder(inputs)
            predictions = {
                task.name: self.network.heads[task.name](representation) for task in self.tasks
            }
            losses = [task.loss(predictions[task.name], targets[task.name]) for task in self.tasks]
            torch.stack(losses).sum().backward()
            self.optimizer.step()
            self.random_state = (
                torch.get_rng_state(),
                torch.cuda.get_rng_state(cuda) if cuda is not None else None,
            )


@dataclass
class RobustnessRun:
    plan: RobustnessPlan
    networks: list[KeptNetwork]
    directions: dict[str, bool]  # metric → higher is better
    families: dict[str, str]  # corruption → family
    # role, run_key, task, metric, stage ("kept" | "fine-tuned"), corruption, severity, value
    scores: pd.DataFrame
    fine_tuned: list[MultiTaskNetwork]  # the networks with their fine-tuned heads, in order


def evaluation_seed(seed: int, corruption: str, severity: int) -> int:
    """The seed of the test split's corruption draws: a function of the study's seed, the
    corruption and the severity alone, so a result does not depend on which others run."""
    digest = hashlib.sha256(f"{seed}:{corruption}:{severity}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


def run_robustness(
    plan: RobustnessPlan,
    networks: Sequence[KeptNetwork],
    data: DatasetSplits,
    device: str,
    num_workers: int = 0,
    progress: Callable[[str], None] = lambda message: None,
) -> RobustnessRun:
    """Evaluate the kept networks, fine-tune their heads on corrupted images, evaluate them
    under every corruption and severity."""
    import torch

    from mtlx.engine.trainer import EpochOrder, make_loader, sample_seed, to_device
    from mtlx.optim import build_optimizer
    from mtlx.studies.corruptions import CORRUPTIONS, random_corruptions

    if plan.corruptions:
        names = list(plan.corruptions)
        for name in names:
            CORRUPTIONS.get(name)  # an unknown name is refused with the registered ones
    else:  # all of them, family by family as Hendrycks & Dietterich list them
        names = sorted(CORRUPTIONS.names(), key=lambda n: FAMILIES.index(CORRUPTIONS.get(n).family))
    families = {name: CORRUPTIONS.get(name).family for name in names}
    training = networks[0].config["training"]
    batch_size = plan.batch_size or int(training["batch_size"])
    learners = []
    for kept in networks:
        network = load_network(kept, data, device)
        network.encoder.requires_grad_(False)
        heads = [p for task in kept.tasks for p in network.heads[task].parameters()]
        optimizer = build_optimizer(
            plan.optimizer, [{"params": heads}], plan.lr, float(training["weight_decay"])
        )
        tasks = [data.task(t) for t in kept.tasks]
        learners.append(
            FineTuning(kept, network, tasks, optimizer, random_stream(plan.seed, device))
        )

    test_loader = make_loader(data.test, int(training["eval_batch_size"]), num_workers, device)
    rows: list[dict[str, object]] = []

    def evaluate(stage: str, corruption: str, severity: int) -> None:
        generator = torch.Generator().manual_seed(evaluation_seed(plan.seed, corruption, severity))
        for learner in learners:
            learner.network.eval()
        meters = [{task.name: task.meter() for task in learner.tasks} for learner in learners]
        with torch.no_grad():
            for inputs, targets in test_loader:
                if corruption != CLEAN:
                    inputs = corrupt_batch(inputs, corruption, severity, generator)
                inputs, targets = to_device((inputs, targets), torch.device(device))
                for learner, meter in zip(learners, meters, strict=True):
                    predictions = learner.network(inputs)
                    for task in learner.tasks:
                        meter[task.name].update(predictions[task.name], targets[task.name])
        for learner, meter in zip(learners, meters, strict=True):
            for task in learner.tasks:
                for metric, value in meter[task.name].compute().items():
                    rows.append(
                        {
                            "role": learner.kept.role,
                            "run_key": learner.kept.run_key,
                            "task": task.name,
                            "metric": metric,
                            "stage": stage,
                            "corruption": corruption,
                            "severity": severity,
                            "value": value,
                        }
                    )

    progress("evaluating the kept networks on the clean test split")
    evaluate("kept", CLEAN, 0)
    corruption_draws = torch.Generator().manual_seed(plan.seed)
    order_draws = torch.Generator().manual_seed(plan.seed)
    randomized = bool(getattr(data.train, "randomized", False))
    for epoch in range(1, plan.epochs + 1):
        progress(f"fine-tuning the heads on corrupted images: epoch {epoch} of {plan.epochs}")
        for learner in learners:
            learner.network.train()
            learner.network.encoder.eval()  # frozen: dropout off, running statistics kept
        order = torch.randperm(len(data.train), generator=order_draws)
        sampler = EpochOrder(order, 0, (plan.seed, epoch) if randomized else None)
        loader = make_loader(
            data.train,
            batch_size,
            num_workers,
            device,
            sampler=sampler,
            base_seed=sample_seed(plan.seed, epoch, -1),
        )
        for inputs, targets in loader:
            check_images(inputs)
            corrupted, _, _ = random_corruptions(inputs, corruption_draws, names, plan.severities)
            corrupted, targets = to_device((corrupted, targets), torch.device(device))
            for learner in learners:
                learner.step(corrupted, targets)
    progress("evaluating the fine-tuned networks on the clean test split")
    evaluate("fine-tuned", CLEAN, 0)
    for index, name in enumerate(names, start=1):
        progress(f"evaluating under {name} ({index} of {len(names)})")
        for severity in plan.severities:
            evaluate("fine-tuned", name, severity)
    directions = {
        metric.name: metric.higher_is_better
        for learner in learners
        for task in learner.tasks
        for metric in task.metrics
    }
    fine_tuned = [learner.network for learner in learners]
    return RobustnessRun(plan, list(networks), directions, families, pd.DataFrame(rows), fine_tuned)


def random_stream(seed: int, device: str) -> tuple[Any, Any]:
    """The generator states a fine-tuned network's dropout starts from."""
    import torch

    cuda = cuda_index(torch.device(device))
    with torch.random.fork_rng(devices=[cuda] if cuda is not None else []):
        torch.manual_seed(seed)
        return torch.get_rng_state(), torch.cuda.get_rng_state(cuda) if cuda is not None else None


def cuda_index(device: Any) -> int | None:
    """The index of a CUDA device (None for the CPU)."""
    import torch

    if device.type != "cuda":
        return None
    return device.index if device.index is not None else torch.cuda.current_device()


def corrupt_batch(inputs, corruption: str, severity: int, generator):
    """``inputs`` under one corruption; refused in one line when they are not images in [0, 1]."""
    from mtlx.studies.corruptions import corrupt

    check_images(inputs)
    return corrupt(inputs, corruption, severity, generator)


def check_images(inputs) -> None:
    """The corruptions work on image batches (N, C, H, W) in [0, 1]; refuse anything else."""
    if inputs.ndim != 4 or float(inputs.min()) < 0 or float(inputs.max()) > 1:
        raise RobustnessError(
            "the corruptions need image batches (N, C, H, W) in [0, 1], but the dataset gives "
            f"{tuple(inputs.shape)} in [{float(inputs.min()):g}, {float(inputs.max()):g}]"
        )


# ---- analyse ----------------------------------------------------------------------------------


def relative_robustness(
    scores: pd.DataFrame, directions: Mapping[str, bool], families: Mapping[str, str]
) -> pd.DataFrame:
    """Per corruption, severity and metric: each network's relative drop and R = drop_STL −
    drop_MTL (see the module docstring). Columns: corruption, family, severity, task, metric,
    mtl_drop, stl_drop, relative_robustness."""
    reference = scores[scores["stage"] == "kept"].set_index(["role", "metric"])["value"]
    corrupted = scores[(scores["stage"] == "fine-tuned") & (scores["corruption"] != CLEAN)]
    drops = corrupted.copy()
    sign = drops["metric"].map(lambda metric: 1.0 if directions[metric] else -1.0)
    before = [
        reference[(role, metric)] for role, metric in zip(drops.role, drops.metric, strict=True)
    ]
    before = pd.Series(before, index=drops.index, dtype=float)
    drops["drop"] = sign * (before - drops["value"]) / before.where(before != 0)
    keys = ["corruption", "severity", "task", "metric"]
    wide = pd.merge(
        drops.loc[drops["role"] == "mtl", [*keys, "drop"]].rename(columns={"drop": "mtl_drop"}),
        drops.loc[drops["role"] == "stl", [*keys, "drop"]].rename(columns={"drop": "stl_drop"}),
        on=keys,
        how="outer",
    )
    frame = pd.DataFrame(
        {
            "corruption": wide["corruption"],
            "family": wide["corruption"].map(families),
            "severity": wide["severity"].astype(int),
            "task": wide["task"],
            "metric": wide["metric"],
            "mtl_drop": wide["mtl_drop"],
            "stl_drop": wide["stl_drop"],
        }
    )
    frame["relative_robustness"] = frame["stl_drop"] - frame["mtl_drop"]
    # corruptions in the order they ran (the registry's), metrics in the tasks' order
    frame["corruption_order"] = frame["corruption"].map(
        {name: i for i, name in enumerate(families)}
    )
    frame["metric_order"] = frame["metric"].map({name: i for i, name in enumerate(directions)})
    frame = frame.sort_values(["corruption_order", "metric_order", "severity"])
    return frame.drop(columns=["corruption_order", "metric_order"]).reset_index(drop=True)


def by_corruption(robustness: pd.DataFrame) -> pd.DataFrame:
    """The paper's table: per corruption and metric, the mean over the severities."""
    keys = ["corruption", "family", "task", "metric"]
    return (
        robustness.groupby(keys, sort=False)[["mtl_drop", "stl_drop", "relative_robustness"]]
        .mean()
        .reset_index()
    )


def study_numbers(run: RobustnessRun, robustness: pd.DataFrame) -> list[StudyNumber]:
    """Every score of every network, R and both drops per corruption × severity × metric, and
    the per-corruption means."""
    from mtlx.store.studies import StudyNumber

    numbers = [
        StudyNumber(
            {
                "role": r.role,
                "run_key": r.run_key,
                "task": r.task,
                "stage": r.stage,
                "corruption": r.corruption,
                "severity": int(r.severity),
            },
            r.metric,
            float(r.value),
        )
        for r in run.scores.itertuples(index=False)
    ]
    for r in robustness.itertuples(index=False):
        key = {
            "corruption": r.corruption,
            "severity": int(r.severity),
            "task": r.task,
            "task_metric": r.metric,
        }
        numbers.extend(
            StudyNumber(key, name, float(getattr(r, name)))
            for name in ("relative_robustness", "mtl_drop", "stl_drop")
        )
    for r in by_corruption(robustness).itertuples(index=False):
        key = {"corruption": r.corruption, "task": r.task, "task_metric": r.metric}
        numbers.append(StudyNumber(key, "relative_robustness", float(r.relative_robustness)))
    return numbers


def summary_json(summary: pd.DataFrame) -> list[dict[str, object]]:
    """``[{"corruption", "family", "task", "metric", "relative_robustness", "mtl_drop",
    "stl_drop"}]``: per corruption the mean over the severities (NaN as null)."""
    return [
        {
            "corruption": r.corruption,
            "family": r.family,
            "task": r.task,
            "metric": r.metric,
            "relative_robustness": _finite(r.relative_robustness),
            "mtl_drop": _finite(r.mtl_drop),
            "stl_drop": _finite(r.stl_drop),
        }
        for r in summary.itertuples(index=False)
    ]


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def summary_grid(summary: pd.DataFrame) -> pd.DataFrame:
    """Corruptions × metrics of R, with a ``mean`` column (over metrics) and row (over
    corruptions), in registry and task order."""
    grid = summary.pivot(index="corruption", columns="metric", values="relative_robustness")
    grid = grid.loc[
        list(dict.fromkeys(summary["corruption"])), list(dict.fromkeys(summary["metric"]))
    ]
    grid["mean"] = grid.mean(axis=1)
    grid.loc["mean"] = grid.mean(axis=0)
    grid.columns.name = None
    return grid


# ---- render -----------------------------------------------------------------------------------


def render_table(run: RobustnessRun, summary: pd.DataFrame, console: Console) -> None:
    from rich.table import Table
    from rich.text import Text

    mtl = run.networks[0]
    config = mtl.config
    grid = summary_grid(summary)
    families = dict(zip(summary["corruption"], summary["family"], strict=False))
    table = Table(
        title=Text(
            f"relative robustness R (> 0: MTL more robust) — {config['dataset']['name']} / "
            f"{config['network']['name']}, run {mtl.run_key}"
        )
    )
    table.add_column("corruption")
    table.add_column("family")
    for column in grid.columns:
        table.add_column(column, justify="right")
    rows = list(grid.index)
    for position, corruption in enumerate(rows):
        family = families.get(corruption, "")
        first_of_family = position == 0 or families.get(rows[position - 1]) != family
        last_of_family = position + 1 < len(rows) and families.get(rows[position + 1]) != family
        table.add_row(
            Text(corruption.replace("_", " ")),
            Text(family if first_of_family else ""),
            *[_signed(grid.loc[corruption, column]) for column in grid.columns],
            end_section=last_of_family,
        )
    console.print(table)
    stl = ", ".join(f"{n.tasks[0]}: {n.run_key}" for n in run.networks[1:])
    plan = run.plan
    epochs = f"{plan.epochs} epoch{'s' if plan.epochs != 1 else ''}"
    console.print(
        Text(
            f"R = drop_STL − drop_MTL, drop = ±(M − M_corrupted)/M (a fraction, > 0 when "
            f"performance is lost), the mean over severities "
            f"{', '.join(map(str, plan.severities))}. Backbones frozen, heads fine-tuned "
            f"{epochs} ({plan.optimizer}, lr {plan.lr:g}) on a random corruption and severity "
            f"per sample. Single-task runs: {stl}."
        )
    )


def _signed(value: float):
    from rich.text import Text

    if not math.isfinite(value):
        return Text("–")
    style = "green" if value > 0 else "red" if value < 0 else ""
    return Text(f"{value:+.4f}", style=style)


def plot_robustness(run: RobustnessRun, robustness: pd.DataFrame, path: Path) -> None:
    """Left: R per corruption and metric (mean over severities), green where MTL is more
    robust; right: R against the severity, the mean over the corruptions, per metric."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    summary = by_corruption(robustness)
    grid = summary_grid(summary)
    values = grid.to_numpy(dtype=float)
    limit = float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else 1.0
    limit = limit or 1.0
    figure, (left, right) = plt.subplots(
        1,
        2,
        figsize=(4.5 + 1.1 * grid.shape[1] + 4.5, 0.36 * grid.shape[0] + 2.4),
        gridspec_kw={"width_ratios": [1.2 + 0.9 * grid.shape[1], 4.5]},
    )
    image = left.imshow(values, cmap="RdYlGn", vmin=-limit, vmax=limit, aspect="auto")
    left.set_xticks(range(grid.shape[1]), list(grid.columns), rotation=30, ha="right")
    left.set_yticks(range(grid.shape[0]), [name.replace("_", " ") for name in grid.index])
    for (row, column), value in np.ndenumerate(values):
        if math.isfinite(value):
            left.text(column, row, f"{value:+.3f}", ha="center", va="center", fontsize=8)
    left.axhline(grid.shape[0] - 1.5, color="black", linewidth=1)
    left.axvline(grid.shape[1] - 1.5, color="black", linewidth=1)
    left.set_title("R by corruption (mean over severities)", fontsize=10)
    figure.colorbar(image, ax=left, fraction=0.04, pad=0.02, label="R  (> 0: MTL more robust)")

    by_severity = robustness.groupby(["metric", "severity"], sort=False)["relative_robustness"]
    means = by_severity.mean().reset_index()
    for metric in dict.fromkeys(robustness["metric"]):
        rows = means[means["metric"] == metric].sort_values("severity")
        right.plot(rows["severity"], rows["relative_robustness"], marker="o", label=metric)
    right.axhline(0.0, color="black", linewidth=0.8)
    right.set_xticks(list(run.plan.severities))
    right.set_xlabel("severity")
    right.set_ylabel("R (mean over corruptions)")
    right.set_title("R by severity", fontsize=10)
    right.grid(alpha=0.3)
    right.legend(fontsize=8)
    config = run.networks[0].config
    figure.suptitle(
        f"Robustness of multi-task vs single-task features — {config['dataset']['name']} / "
        f"{config['network']['name']}, {config['method']['name']} + "
        f"{config['optimizer']['name']} (run {run.networks[0].run_key})",
        fontsize=11,
    )
    figure.tight_layout(rect=(0, 0, 1, 0.94))
    figure.savefig(path, dpi=100)
    plt.close(figure)
