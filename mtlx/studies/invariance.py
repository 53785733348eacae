"""Loss-scale invariance of SGD, Adam, UW-O and per-task Adam (Elich et al., Section 4.1.3 and
appendix A1–A2).

The paper's toy network: a scalar input x ~ U(0, 1); a shared backbone of two layers of 20 units
with LeakyReLU; two heads of two layers, one per task; both tasks regress the same depth
(y = 2x) with the L1 loss. Each experiment trains twice from the same initialisation on the same
data: once on the plain losses and once with the losses scaled by s = (10, 0.1) — the same depth
in other units — and compares the two runs' updates, per step and per part of the network
(backbone, each head). First with a frozen backbone (only the heads learn), then with a free one.

What the paper derives (A1) and this study measures:

- SGD (+ momentum): no invariance — a loss scale is a per-task learning rate (A1.2).
- Adam: the heads are invariant, m̂/√v̂ of s·g equals that of g up to ε (A1.3, eq. 19); the
  backbone is not, its gradient Σₜ sₜgₜ mixes the scales. With a free backbone the heads are then
  invariant at the first step only, after which they see different features.
- UW-O: Σₜ sₜLₜ / sg(sₜLₜ) = Σₜ Lₜ / sg(Lₜ) — invariant everywhere (A1.1, eq. 11).
- Per-task Adam (AdaTask): invariant everywhere up to ε (A1.3, last paragraph).

The measure: for each part, max over steps of ‖Δθˢ − Δθ‖ / ‖Δθ‖, Δθ the part's update at a step
in the unscaled run and Δθˢ in the scaled one. Methods, optimizers and the training step are
mtlx's own (:func:`mtlx.methods.build_method`, :func:`mtlx.optim.build_optimizer`,
:class:`mtlx.engine.step.TrainingStep`); runs are float32 on the CPU and deterministic.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import pandas as pd

from mtlx.errors import UserError

if TYPE_CHECKING:
    from pathlib import Path

    from rich.console import Console

    from mtlx.store.studies import StudyNumber

TASKS = ("depth_a", "depth_b")
LOSS_SCALES = (10.0, 0.1)
DEPTH_PER_INPUT = 2.0  # the targets: depth y = 2x for both tasks
# (method, optimizer) of the paper's eight experiments (each run unscaled and scaled)
EXPERIMENTS: tuple[tuple[str, str], ...] = (
    ("ew", "sgd"),
    ("ew", "adam"),
    ("uw-o", "sgd"),
    ("adatask", "adam"),
)
# with a frozen backbone per-task Adam is Adam (the paper skips it there)
FROZEN_EXPERIMENTS = EXPERIMENTS[:3]
BACKBONES = ("frozen", "free")
LABELS = {
    ("ew", "sgd"): "EW + SGD",
    ("ew", "adam"): "EW + Adam",
    ("uw-o", "sgd"): "UW-O + SGD",
    ("adatask", "adam"): "EW + per-task Adam",
}
QUANTITIES = {
    "loss": "loss Lₜ (unscaled)",
    "weighted_loss": "weighted loss wₜ·sₜLₜ",
    "gradient_norm": "gradient norm",
    "update_norm": "update norm ‖Δθ‖",
}


class InvariancePlanError(UserError, ValueError):
    """An invariance-study setting that cannot be run."""


@dataclass(frozen=True)
class InvariancePlan:
    """The study's settings; every run trains full-batch for ``steps`` steps."""

    steps: int = 100
    lr: float = 1e-3
    samples: int = 256
    hidden: int = 20
    seed: int = 0
    loss_scales: tuple[float, float] = LOSS_SCALES
    backbones: tuple[str, ...] = BACKBONES
    adam_eps: float = 1e-8  # Adam's ε, of the optimizer and of per-task Adam (AdaTask)

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise InvariancePlanError(f"steps must be at least 1, but got {self.steps}")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise InvariancePlanError(f"lr must be positive, but got {self.lr}")
        if not (math.isfinite(self.adam_eps) and self.adam_eps > 0):
            raise InvariancePlanError(f"Adam's eps must be positive, but got {self.adam_eps}")
        if self.samples < 1 or self.hidden < 1:
            raise InvariancePlanError("samples and hidden units must be at least 1")
        if len(self.loss_scales) != len(TASKS) or not all(s > 0 for s in self.loss_scales):
            raise InvariancePlanError(
                f"loss scales must be {len(TASKS)} positive numbers, but got {self.loss_scales}"
            )
        unknown = [b for b in self.backbones if b not in BACKBONES]
        if unknown or not self.backbones:
            raise InvariancePlanError(
                f"backbones must be among {', '.join(BACKBONES)}, but got {self.backbones}"
            )

    def experiments(self) -> list[tuple[str, str, str]]:
        """(method, optimizer, backbone) of every experiment, frozen backbone first."""
        return [
            (method, optimizer, backbone)
            for backbone in self.backbones
            for method, optimizer in (FROZEN_EXPERIMENTS if backbone == "frozen" else EXPERIMENTS)
        ]

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "tasks": list(TASKS), "depth_per_input": DEPTH_PER_INPUT}


def parts(backbone: str) -> list[str]:
    """The parts of the network compared: the heads, and the backbone when it learns."""
    heads = [f"head:{task}" for task in TASKS]
    return heads if backbone == "frozen" else ["backbone", *heads]


# ---- run --------------------------------------------------------------------------------------


def _toy_network(hidden: int):  # -> MultiTaskNetwork
    from torch import nn

    from mtlx.models.base import MultiTaskNetwork

    encoder = nn.Sequential(
        nn.Linear(1, hidden), nn.LeakyReLU(), nn.Linear(hidden, hidden), nn.LeakyReLU()
    )
    heads = {
        task: nn.Sequential(nn.Linear(hidden, hidden), nn.LeakyReLU(), nn.Linear(hidden, 1))
        for task in TASKS
    }
    return MultiTaskNetwork(encoder, heads)


def _scaled_l1_task(name: str, scale: float):  # -> Task
    from mtlx.tasks.base import Task

    class ScaledL1Task(Task):
        """The L1 loss of a scalar depth, times a constant (the unit of that depth)."""

        output_size = 1
        metrics = ()
        primary_metric = "loss"

        def __init__(self) -> None:
            self.name = name
            self.scale = scale

        def loss(self, prediction, target):
            return self.scale * (prediction - target).abs().mean()

        def meter(self):
            raise NotImplementedError("the invariance study evaluates no metrics")

    return ScaledL1Task()


@dataclass
class TrainedRun:
    """One run's per-step records and each part's update at each step."""

    records: list[dict[str, object]]  # step, quantity, part, value
    updates: dict[str, list]  # part → list of flat update tensors, one per step


def train_run(plan: InvariancePlan, method: str, optimizer: str, backbone: str, scaled: bool):
    """Train one run of the study and record every step."""
    import torch

    from mtlx.engine.step import TrainingStep
    from mtlx.methods import build_method
    from mtlx.optim import build_optimizer

    generator = torch.Generator().manual_seed(plan.seed)
    inputs = torch.rand(plan.samples, 1, generator=generator)
    targets = {task: DEPTH_PER_INPUT * inputs for task in TASKS}
    torch.manual_seed(plan.seed)  # the same initial network in every run
    network = _toy_network(plan.hidden)
    if backbone == "frozen":
        network.encoder.requires_grad_(False)
    scales = plan.loss_scales if scaled else (1.0,) * len(TASKS)
    tasks = [_scaled_l1_task(task, scale) for task, scale in zip(TASKS, scales, strict=True)]
    adam = {"eps": plan.adam_eps}
    mtl_method = build_method(method, len(TASKS), **(adam if method == "adatask" else {}))
    trainable = [p for p in network.parameters() if p.requires_grad]
    torch_optimizer = build_optimizer(
        optimizer,
        [{"params": [*trainable, *mtl_method.parameters()]}],
        plan.lr,
        0.0,
        **(adam if optimizer == "adam" else {}),
    )
    step = TrainingStep(network, mtl_method, tasks, torch_optimizer, jacobian_mode="loop")
    groups = {"backbone": list(network.encoder.parameters())}
    groups.update({f"head:{task}": list(network.heads[task].parameters()) for task in TASKS})
    wanted = parts(backbone)
    records: list[dict[str, object]] = []
    updates: dict[str, list] = {part: [] for part in wanted}
    for index in range(plan.steps):
        before = {part: _flat(groups[part]).clone() for part in wanted}
        scaled_losses = step(inputs, targets)
        weights = mtl_method.task_weights
        for t, task in enumerate(TASKS):
            weight = 1.0 if weights is None else float(weights[t])
            loss = float(scaled_losses[t])
            records.append(_record(index, "loss", f"head:{task}", loss / scales[t]))
            records.append(_record(index, "weighted_loss", f"head:{task}", weight * loss))
        for part in wanted:
            update = _flat(groups[part]) - before[part]
            updates[part].append(update)
            gradients = [p.grad for p in groups[part]]
            norm = (
                math.nan  # AdaTask updates the backbone itself: it leaves no .grad there
                if any(g is None for g in gradients)
                else float(torch.cat([g.reshape(-1) for g in gradients]).norm())
            )
            records.append(_record(index, "gradient_norm", part, norm))
            records.append(_record(index, "update_norm", part, float(update.norm())))
    return TrainedRun(records, updates)


def _flat(parameters):
    import torch

    return torch.cat([p.detach().reshape(-1) for p in parameters])


def _record(step: int, quantity: str, part: str, value: float) -> dict[str, object]:
    return {"step": step, "quantity": quantity, "part": part, "value": value}


@dataclass
class InvarianceRun:
    """Every run's per-step records and each experiment's relative update differences."""

    plan: InvariancePlan
    series: pd.DataFrame  # method, optimizer, backbone, scaled, step, quantity, part, value
    differences: pd.DataFrame  # method, optimizer, backbone, part, step, relative difference


def run_invariance(plan: InvariancePlan) -> InvarianceRun:
    """Train every experiment unscaled and scaled; compare their updates step by step."""
    series: list[dict[str, object]] = []
    differences: list[dict[str, object]] = []
    for method, optimizer, backbone in plan.experiments():
        runs = {
            scaled: train_run(plan, method, optimizer, backbone, scaled) for scaled in (False, True)
        }
        experiment = {"method": method, "optimizer": optimizer, "backbone": backbone}
        for scaled, run in runs.items():
            series.extend({**experiment, "scaled": scaled, **record} for record in run.records)
        for part in parts(backbone):
            for step, (plain, rescaled) in enumerate(
                zip(runs[False].updates[part], runs[True].updates[part], strict=True)
            ):
                reference = float(plain.norm())
                difference = float((rescaled - plain).norm())
                differences.append(
                    {
                        **experiment,
                        "part": part,
                        "step": step,
                        "relative_difference": difference / reference
                        if reference > 0
                        else (0.0 if difference == 0 else math.inf),
                    }
                )
    return InvarianceRun(plan, pd.DataFrame(series), pd.DataFrame(differences))


# ---- analyse ----------------------------------------------------------------------------------

INVARIANT_BELOW = 1e-3  # "invariant up to Adam's ε and float32 rounding" in the table's verdict


def invariance_table(differences: pd.DataFrame) -> pd.DataFrame:
    """Per (method, optimizer, backbone, part): the first step's and the largest relative update
    difference between the scaled and the unscaled run."""
    keys = ["method", "optimizer", "backbone", "part"]
    grouped = differences.groupby(keys, sort=False)["relative_difference"]
    table = grouped.agg(
        first_step_relative_update_difference="first", max_relative_update_difference="max"
    ).reset_index()
    table["invariant"] = table["max_relative_update_difference"] < INVARIANT_BELOW
    return table


def study_numbers(run: InvarianceRun) -> list[StudyNumber]:
    """Per-step series and the summary as database rows."""
    from mtlx.store.studies import StudyNumber

    numbers = [
        StudyNumber(
            key={
                "method": r.method,
                "optimizer": r.optimizer,
                "backbone": r.backbone,
                "scaled": bool(r.scaled),
                "part": r.part,
            },
            metric=str(r.quantity),
            step=int(r.step),
            value=float(r.value),
        )
        for r in run.series.itertuples(index=False)
    ]
    for r in run.differences.itertuples(index=False):
        key = {"method": r.method, "optimizer": r.optimizer, "backbone": r.backbone, "part": r.part}
        numbers.append(
            StudyNumber(key, "relative_update_difference", float(r.relative_difference), r.step)
        )
    for r in invariance_table(run.differences).itertuples(index=False):
        key = {"method": r.method, "optimizer": r.optimizer, "backbone": r.backbone, "part": r.part}
        numbers.append(
            StudyNumber(key, "max_relative_update_difference", r.max_relative_update_difference)
        )
    return numbers


# ---- render -----------------------------------------------------------------------------------


def table_json(table: pd.DataFrame) -> list[dict[str, object]]:
    """``[{"method", "optimizer", "backbone", "part", "max_relative_update_difference"}]``."""
    return [
        {
            "method": r.method,
            "optimizer": r.optimizer,
            "backbone": r.backbone,
            "part": r.part,
            "max_relative_update_difference": float(r.max_relative_update_difference),
        }
        for r in table.itertuples(index=False)
    ]


def render_table(table: pd.DataFrame, plan: InvariancePlan, console: Console) -> None:
    from rich.table import Table
    from rich.text import Text

    rich_table = Table(
        title=Text(
            f"loss-scale invariance: losses × {plan.loss_scales[0]:g} and "
            f"× {plan.loss_scales[1]:g} vs unscaled, {plan.steps} steps"
        )
    )
    for title, justify in (
        ("experiment", "left"),
        ("backbone", "left"),
        ("part", "left"),
        ("first step", "right"),
        ("max over steps", "right"),
        ("invariant", "left"),
    ):
        rich_table.add_column(Text(title), justify=justify)  # type: ignore[arg-type]
    previous = None
    for r in table.itertuples(index=False):
        experiment = (r.method, r.optimizer, r.backbone)
        rich_table.add_row(
            Text(LABELS[(r.method, r.optimizer)] if experiment != previous else ""),
            Text(r.backbone if experiment != previous else ""),
            Text(r.part),
            Text(f"{r.first_step_relative_update_difference:.2e}"),
            Text(f"{r.max_relative_update_difference:.2e}"),
            Text("yes" if r.invariant else "no"),
            end_section=False,
        )
        previous = experiment
    console.print(rich_table)
    console.print(
        Text(
            "Relative update difference: ‖Δθˢ − Δθ‖ / ‖Δθ‖ of a part at a step, scaled vs "
            f"unscaled run; invariant: below {INVARIANT_BELOW:g} at every step."
        )
    )


def plot_series(run: InvarianceRun, path: Path) -> None:
    """The paper's Figures A1 (frozen backbone) and A2 (free backbone) side by side: each
    quantity per part over the steps, unscaled solid and scaled dotted."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = [(backbone, part) for backbone in run.plan.backbones for part in parts(backbone)]
    figure, axes = plt.subplots(
        len(QUANTITIES),
        len(columns),
        figsize=(3.3 * len(columns) + 1, 2.6 * len(QUANTITIES) + 1),
        squeeze=False,
        sharex=True,
    )
    colours = dict(zip(EXPERIMENTS, plt.get_cmap("tab10").colors, strict=False))
    series = run.series
    for c, (backbone, part) in enumerate(columns):
        for r, (quantity, title) in enumerate(QUANTITIES.items()):
            axis = axes[r][c]
            selected = series[
                (series.backbone == backbone)
                & (series.part == part)
                & (series.quantity == quantity)
            ]
            if selected.empty:  # losses belong to the heads
                axis.axis("off")
                continue
            for (method, optimizer, scaled), rows in selected.groupby(
                ["method", "optimizer", "scaled"], sort=False
            ):
                values = rows["value"].abs().clip(lower=1e-12)
                if values.isna().all():
                    continue
                axis.plot(
                    rows["step"],
                    values,
                    linestyle=":" if scaled else "-",
                    linewidth=2.0 if scaled else 1.4,
                    color=colours[(method, optimizer)],
                    label=f"{LABELS[(method, optimizer)]}{' (scaled)' if scaled else ''}",
                )
            axis.set_yscale("log")
            if r == 0 or (r == 2 and part == "backbone"):
                figure_letter = "A1" if backbone == "frozen" else "A2"
                axis.set_title(f"{figure_letter} · {backbone} backbone · {part}", fontsize=9)
            if c == 0:
                axis.set_ylabel(title, fontsize=9)
            if r == len(QUANTITIES) - 1:
                axis.set_xlabel("step")
            axis.grid(alpha=0.3)
    handles, labels = [], []
    for axis in axes.flat:
        for handle, label in zip(*axis.get_legend_handles_labels(), strict=True):
            if label not in labels:
                handles.append(handle)
                labels.append(label)
    figure.legend(handles, labels, loc="lower center", ncol=4, fontsize=9, frameon=False)
    figure.suptitle(
        f"Loss-scale invariance: solid unscaled, dotted with losses × {run.plan.loss_scales[0]:g}"
        f" and × {run.plan.loss_scales[1]:g}",
        fontsize=11,
    )
    figure.tight_layout(rect=(0, 0.06, 1, 0.97))
    figure.savefig(path, dpi=100)
    plt.close(figure)
