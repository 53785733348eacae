"""Inter-task vs inter-sample gradient similarity (Elich et al., Section 4.2, Figure 4; setting of
appendix A3.2).

While a run trains, a probe looks at the gradients of the shared parameters θ every k steps (the
paper: 5). From the step's batch it takes a random subset of samples (8) and, when the run has
more, of tasks (8), and computes every per-sample, per-task gradient g(n, t) = ∇θ Lₜ(xₙ) at once
with ``torch.func`` (``vmap`` over the samples of ``jacrev`` of the task losses, the network
called through ``functional_call``). For a pair of gradients gᵢ, gⱼ of d shared parameters:

- cosine similarity ⟨gᵢ, gⱼ⟩ / (‖gᵢ‖ ‖gⱼ‖) (the paper's eq. 4);
- gradient magnitude similarity 2 ‖gᵢ‖ ‖gⱼ‖ / (‖gᵢ‖² + ‖gⱼ‖²) (eq. 5, from PCGrad, Yu et al.,
  NeurIPS 2020): 1 for equal magnitudes, towards 0 as they drift apart;
- fraction of conflicting parameters #{p : gᵢₚ · gⱼₚ < 0} / d (a zero component conflicts with
  nothing).

Inter-task pairs are the tasks of one sample, g(n, s) and g(n, t) for s < t; inter-sample pairs
the samples of one task, g(m, t) and g(n, t) for m < n. Per epoch the study reports the mean and
the standard deviation (the spread of Figure 4) over every pair of every probed step. A pair with
a zero gradient has no cosine (and two zero gradients no magnitude similarity): such pairs are
left out, and ``pairs`` counts the pairs each measure was taken over.

What the probe sees: the network right after the optimisation step, on the step's batch, in
evaluation mode — dropout off and batch normalisation on its running statistics, so a sample's
gradient is that of its own loss — and every random draw comes from the probe's own generator
(seeded with the run's seed): a run trains exactly the same with and without the probe. Steps are
counted over the whole run; the probe looks at steps 1, k + 1, 2k + 1, …
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from mtlx.errors import UserError

if TYPE_CHECKING:
    from pathlib import Path

    from rich.console import Console
    from torch import Tensor

    from mtlx.data import DatasetSplits
    from mtlx.engine.trainer import EpochResult, StepEvent
    from mtlx.models import MultiTaskNetwork
    from mtlx.spec import RunConfig
    from mtlx.store.studies import StudyNumber
    from mtlx.tasks import Task

EVERY = 5
SAMPLES = 8
TASKS = 8
COMPARISONS = {"inter_task": "inter-task", "inter_sample": "inter-sample"}
MEASURES = {
    "cosine": "cosine similarity",
    "magnitude": "gradient magnitude similarity",
    "conflict": "conflicting parameters (fraction)",
}
STATISTICS = ("mean", "std", "pairs")
METRIC_PREFIX = "grads"
# the paper's Figure 4: inter-task in blue, inter-sample in red
COLOURS = {"inter_task": "tab:blue", "inter_sample": "tab:red"}
STYLES = {"inter_task": "blue", "inter_sample": "red"}


def metric_name(comparison: str, measure: str, statistic: str) -> str:
    """The name an epoch's number has among the run's ``train`` metrics."""
    return f"{METRIC_PREFIX}.{comparison}.{measure}.{statistic}"


class GradsPlanError(UserError, ValueError):
    """A gradient-similarity setting that cannot be run."""


@dataclass(frozen=True)
class GradsPlan:
    """The run to train and how the probe looks at it."""

    experiment: str
    config: RunConfig
    every: int = EVERY
    samples: int = SAMPLES
    tasks: int = TASKS

    def __post_init__(self) -> None:
        if self.every < 1:
            raise GradsPlanError(f"--every must be at least 1, but got {self.every}")
        if self.samples < 2:
            raise GradsPlanError(
                f"--samples must be at least 2 (a pair of samples), but got {self.samples}"
            )
        if self.tasks < 2:
            raise GradsPlanError(
                f"--tasks must be at least 2 (a pair of tasks), but got {self.tasks}"
            )
        if len(self.config.tasks) < 2:
            raise GradsPlanError(
                f"the run has one task ({self.config.tasks[0]}): inter-task similarity needs a "
                "multi-task run"
            )

    def as_dict(self) -> dict[str, object]:
        return {
            "experiment": self.experiment,
            "run_key": self.config.run_key,
            "config": self.config.as_dict(),
            "every": self.every,
            "samples": self.samples,
            "tasks": self.tasks,
        }


# ---- the measures -----------------------------------------------------------------------------


def per_sample_task_gradients(
    network: MultiTaskNetwork,
    tasks: Sequence[Task],
    inputs: Tensor,
    targets: Mapping[str, Tensor],
) -> dict[str, Tensor]:
    """g(n, t) = ∇θ Lₜ(xₙ) for every sample n of ``inputs`` and task t of ``tasks``, θ the
    trainable shared parameters: per parameter name, a tensor (N, T, *shape).

    One ``vmap`` over the samples of ``jacrev`` of the T losses of one sample; the network is
    called as it is (the probe puts it in evaluation mode) and left untouched: no ``.grad`` is
    written, no autograd graph kept. An operation without a batching rule (SegNet's
    ``max_unpool2d``) runs sample by sample inside torch: exact, only slower.
    """
    import warnings

    import torch
    from torch.func import functional_call, jacrev, vmap

    encoder = network.encoder
    trainable = {id(p) for p in network.shared_parameters() if p.requires_grad}
    shared = {name: p.detach() for name, p in encoder.named_parameters() if id(p) in trainable}
    heads = [network.heads[task.name] for task in tasks]
    chosen_targets = {task.name: targets[task.name] for task in tasks}

    def sample_losses(parameters: dict[str, Tensor], sample: Tensor, sample_targets) -> Tensor:
        representation = functional_call(encoder, parameters, (sample.unsqueeze(0),))
        return torch.stack(
            [
                task.loss(head(representation), sample_targets[task.name].unsqueeze(0))
                for task, head in zip(tasks, heads, strict=True)
            ]
        )

    # the transforms differentiate inside; outside, no graph to the heads' parameters is built
    with torch.no_grad(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", "There is a performance drop because we have not yet")
        return vmap(jacrev(sample_losses), in_dims=(None, 0, 0))(shared, inputs, chosen_targets)


@dataclass(frozen=True)
class PairMeasures:
    """The three measures of a list of gradient pairs (NaN where a measure is undefined)."""

    cosine: Tensor
    magnitude: Tensor
    conflict: Tensor

    def as_dict(self) -> dict[str, Tensor]:
        return {"cosine": self.cosine, "magnitude": self.magnitude, "conflict": self.conflict}


def gradient_similarities(
    gradients: Iterable[Tensor], samples: int, tasks: int
) -> dict[str, PairMeasures]:
    """Inter-task and inter-sample measures of per-sample, per-task gradients.

    ``gradients``: per parameter, (N, T, *shape) as :func:`per_sample_task_gradients` gives them.
    Everything comes from three (N·T) × (N·T) Gram matrices accumulated parameter by parameter in
    float64: G = g gᵀ, S = sign(g) sign(g)ᵀ and A = |sign(g)| |sign(g)|ᵀ, so that the number of
    conflicting components of a pair is (A − S)/2. Order of the pairs: inter-task by sample n, then
    task pairs s < t; inter-sample by task t, then sample pairs m < n.
    """
    import torch

    rows = samples * tasks
    gram = agreement = nonzero = None
    width = 0
    for gradient in gradients:
        flat = gradient.reshape(rows, -1).double()
        signs = flat.sign()
        present = signs.abs()
        if gram is None:
            gram, agreement, nonzero = flat @ flat.T, signs @ signs.T, present @ present.T
        else:
            gram += flat @ flat.T
            agreement += signs @ signs.T
            nonzero += present @ present.T
        width += flat.shape[1]
    if gram is None or width == 0:
        raise ValueError("the network has no trainable shared parameter to take gradients of")
    squared = gram.diagonal()
    norms = squared.sqrt()
    products = norms[:, None] * norms[None, :]
    cosine = gram / products  # 0/0 = NaN: no direction for a zero gradient
    magnitude = 2 * products / (squared[:, None] + squared[None, :])
    conflict = (nonzero - agreement) / (2 * width)

    index = torch.arange(rows, device=gram.device).view(samples, tasks)
    first, second = torch.triu_indices(tasks, tasks, 1, device=gram.device)
    task_pairs = (index[:, first].reshape(-1), index[:, second].reshape(-1))
    first, second = torch.triu_indices(samples, samples, 1, device=gram.device)
    sample_pairs = (index[first, :].T.reshape(-1), index[second, :].T.reshape(-1))
    return {
        comparison: PairMeasures(cosine[pairs], magnitude[pairs], conflict[pairs])
        for comparison, pairs in (("inter_task", task_pairs), ("inter_sample", sample_pairs))
    }


# ---- the probe --------------------------------------------------------------------------------


class GradientProbe:
    """A step observer (:class:`mtlx.engine.trainer.StepObserver`): every ``every`` steps, the
    measures of ``samples`` random samples of the batch × ``tasks`` random tasks; per epoch
    their mean, standard deviation and number of pairs, as ``grads.<comparison>.<measure>.*``."""

    def __init__(
        self, every: int = EVERY, samples: int = SAMPLES, tasks: int = TASKS, seed: int = 0
    ) -> None:
        import torch

        self.every, self.samples, self.tasks = every, samples, tasks
        self.generator = torch.Generator().manual_seed(seed)
        self.steps = 0  # over the whole run
        self.probes = 0  # in the epoch in progress
        self.values: dict[tuple[str, str], list[Tensor]] = {}

    def after_step(self, event: StepEvent) -> None:
        self.steps += 1
        if (self.steps - 1) % self.every:
            return
        network = event.network
        modes = {module: module.training for module in network.modules()}
        network.eval()
        try:
            measures = self.measure(network, event.tasks, event.inputs, event.targets)
        finally:
            for module, training in modes.items():
                module.training = training
        for comparison, pairs in measures.items():
            for measure, values in pairs.as_dict().items():
                self.values.setdefault((comparison, measure), []).append(values)
        self.probes += 1

    def measure(
        self,
        network: MultiTaskNetwork,
        tasks: Sequence[Task],
        inputs: Tensor,
        targets: Mapping[str, Tensor],
    ) -> dict[str, PairMeasures]:
        import torch

        rows = torch.randperm(len(inputs), generator=self.generator)[: self.samples].sort().values
        chosen = list(tasks)
        if len(chosen) > self.tasks:
            picked = torch.randperm(len(chosen), generator=self.generator)[: self.tasks]
            chosen = [chosen[i] for i in picked.sort().values.tolist()]
        rows = rows.to(inputs.device)
        gradients = per_sample_task_gradients(
            network, chosen, inputs[rows], {name: t[rows] for name, t in targets.items()}
        )
        return gradient_similarities(gradients.values(), len(rows), len(chosen))

    def end_epoch(self, epoch: int) -> dict[str, float]:
        import torch

        metrics: dict[str, float] = {f"{METRIC_PREFIX}.probes": float(self.probes)}
        for comparison in COMPARISONS:
            for measure in MEASURES:
                parts = self.values.get((comparison, measure), [])
                values = torch.cat(parts).cpu() if parts else torch.empty(0, dtype=torch.float64)
                finite = values[values.isfinite()]
                count = finite.numel()
                metrics[metric_name(comparison, measure, "mean")] = (
                    float(finite.mean()) if count else math.nan
                )
                metrics[metric_name(comparison, measure, "std")] = (
                    float(finite.std(correction=0)) if count else math.nan
                )
                metrics[metric_name(comparison, measure, "pairs")] = float(count)
        self.values.clear()
        self.probes = 0
        return metrics


# ---- run --------------------------------------------------------------------------------------


@dataclass
class GradsRun:
    """Per epoch: the measures' statistics and the run's own metrics."""

    plan: GradsPlan
    similarities: pd.DataFrame  # epoch, comparison, measure, mean, std, pairs
    metrics: pd.DataFrame  # epoch, split, metric, value
    probes: dict[int, int]  # epoch → probed steps


def run_grads(
    plan: GradsPlan,
    data: DatasetSplits,
    device: str,
    jacobian_mode: str = "auto",
    num_workers: int = 0,
    on_epoch: Callable[[EpochResult], None] | None = None,
) -> GradsRun:
    """Train the plan's run with the probe attached; ``on_epoch(result)`` after every epoch."""
    from mtlx.engine.trainer import TrainingRun

    probe = GradientProbe(plan.every, plan.samples, plan.tasks, seed=plan.config.seed)
    run = TrainingRun(
        plan.config,
        data,
        device,
        jacobian_mode=jacobian_mode,
        num_workers=num_workers,
        observers=[probe],
    )
    similarities: list[dict[str, object]] = []
    metrics: list[dict[str, object]] = []
    probes: dict[int, int] = {}
    while not run.finished:
        result = run.train_epoch()
        assert result is not None  # nothing asks it to stop
        similarities.extend(epoch_similarities(result))
        probes[result.epoch] = int(result.metrics["train"][f"{METRIC_PREFIX}.probes"])
        for split, values in result.metrics.items():
            metrics.extend(
                {"epoch": result.epoch, "split": split, "metric": name, "value": value}
                for name, value in values.items()
                if not name.startswith(f"{METRIC_PREFIX}.")
            )
        if on_epoch is not None:
            on_epoch(result)
    return GradsRun(plan, pd.DataFrame(similarities), pd.DataFrame(metrics), probes)


def epoch_similarities(result: EpochResult) -> list[dict[str, object]]:
    train = result.metrics["train"]
    return [
        {
            "epoch": result.epoch,
            "comparison": comparison,
            "measure": measure,
            **{
                statistic: train[metric_name(comparison, measure, statistic)]
                for statistic in STATISTICS
            },
        }
        for comparison in COMPARISONS
        for measure in MEASURES
    ]


# ---- analyse ----------------------------------------------------------------------------------


def study_numbers(run: GradsRun) -> list[StudyNumber]:
    """Per epoch: each comparison's and measure's mean, std and pairs; the run's metrics."""
    from mtlx.store.studies import StudyNumber

    numbers = [
        StudyNumber(
            {"comparison": r.comparison, "measure": r.measure},
            statistic,
            getattr(r, statistic),
            int(r.epoch),
        )
        for r in run.similarities.itertuples(index=False)
        for statistic in STATISTICS
    ]
    numbers.extend(
        StudyNumber({"split": r.split}, r.metric, float(r.value), int(r.epoch))
        for r in run.metrics.itertuples(index=False)
    )
    numbers.extend(
        StudyNumber({}, "probes", float(count), epoch) for epoch, count in run.probes.items()
    )
    return numbers


def similarities_json(similarities: pd.DataFrame) -> list[dict[str, object]]:
    """``[{"epoch", "comparison", "measure", "mean", "std", "pairs"}]`` (NaN as null)."""
    return [
        {
            "epoch": int(r.epoch),
            "comparison": r.comparison,
            "measure": r.measure,
            "mean": _finite(r.mean),
            "std": _finite(r.std),
            "pairs": int(r.pairs),
        }
        for r in similarities.itertuples(index=False)
    ]


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


# ---- render -----------------------------------------------------------------------------------


def render_table(run: GradsRun, console: Console) -> None:
    """Per epoch, a row per comparison: each measure's mean ± std over the epoch's pairs."""
    from rich.table import Table
    from rich.text import Text

    config = run.plan.config
    table = Table(
        title=Text(
            f"gradient similarity — {config.dataset['name']} / {config.network['name']}, "
            f"{config.method['name']} + {config.optimizer['name']} lr={config.optimizer['lr']:g}"
        )
    )
    table.add_column("epoch", justify="right")
    table.add_column("pairs")
    for title in ("cosine", "magnitude", "conflicts"):
        table.add_column(title, justify="right")
    frame = run.similarities.set_index(["epoch", "comparison", "measure"])
    epochs = sorted(run.probes)
    for epoch in epochs:
        for position, (comparison, label) in enumerate(COMPARISONS.items()):
            cells = [
                Text(_mean_std(*frame.loc[(epoch, comparison, measure), ["mean", "std"]]))
                for measure in MEASURES
            ]
            table.add_row(
                Text(str(epoch) if position == 0 else ""),
                Text(label, style=STYLES[comparison]),
                *cells,
                end_section=position == len(COMPARISONS) - 1 and epoch != epochs[-1],
            )
    console.print(table)
    console.print(
        Text(
            f"Mean ± std over the pairs of the probed steps (every {run.plan.every} steps, "
            f"{run.plan.samples} samples × up to {run.plan.tasks} tasks). Magnitude: "
            "2‖gᵢ‖‖gⱼ‖/(‖gᵢ‖² + ‖gⱼ‖²); conflicts: the fraction of shared parameters whose "
            "gradients have opposite signs."
        )
    )
    unprobed = [epoch for epoch, count in run.probes.items() if count == 0]
    if unprobed:
        console.print(
            Text(
                f"No step was probed in epoch {', '.join(map(str, unprobed))}: lower --every "
                "to see it."
            )
        )


def _mean_std(mean: float, std: float) -> str:
    return "–" if not math.isfinite(mean) else f"{mean:.3f} ± {std:.3f}"


def plot_similarities(run: GradsRun, path: Path) -> None:
    """The paper's Figure 4 for one run: each measure over the epochs, inter-task (blue) and
    inter-sample (red), the mean as a line and ± one standard deviation shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    figure, axes = plt.subplots(1, len(MEASURES), figsize=(4.2 * len(MEASURES), 3.6))
    frame = run.similarities
    for axis, (measure, title) in zip(axes, MEASURES.items(), strict=True):
        for comparison, label in COMPARISONS.items():
            rows = frame[(frame.comparison == comparison) & (frame.measure == measure)]
            rows = rows.sort_values("epoch")
            epochs = rows["epoch"].to_numpy()
            mean, std = rows["mean"].to_numpy(float), rows["std"].to_numpy(float)
            colour = COLOURS[comparison]
            axis.plot(epochs, mean, color=colour, marker="o", markersize=3, label=label)
            axis.fill_between(epochs, mean - std, mean + std, color=colour, alpha=0.2, lw=0)
        axis.set_title(title, fontsize=10)
        axis.set_xlabel("epoch")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.grid(alpha=0.3)
        if measure == "cosine":
            axis.axhline(0.0, color="black", linewidth=0.8)
        elif measure == "magnitude":
            axis.set_ylim(0.0, 1.02)
        else:
            axis.set_ylim(bottom=0.0)
    axes[0].legend(fontsize=9)
    config = run.plan.config
    figure.suptitle(
        f"Gradient similarity on the shared parameters — {config.dataset['name']} / "
        f"{config.network['name']}, {config.method['name']} + {config.optimizer['name']} "
        f"lr={config.optimizer['lr']:g} (mean ± std per epoch)",
        fontsize=11,
    )
    figure.tight_layout(rect=(0, 0, 1, 0.93))
    figure.savefig(path, dpi=100)
    plt.close(figure)
