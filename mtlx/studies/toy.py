"""The CAGrad toy task (Liu et al., NeurIPS 2021, Fig. 1; Elich et al., Section 4.1.1, Tables 1
and A3): iterations to the global optimum of two conflicting objectives, by method × optimizer ×
learning rate.

The problem, exactly as the CAGrad authors' public script (``toy.py``) defines it, in float32:
for x = (x₁, x₂), with c₁ = max(tanh(x₂/2), 0) and c₂ = max(tanh(−x₂/2), 0),

    L₁ = c₁·(log max(|½(−x₁ − 7) − tanh(−x₂)|, 5·10⁻⁶) + 6)
         + c₂·(((−x₁ + 7)² + 0.1(−x₂ − 8)²)/10 − 20)
    L₂ = c₁·(log max(|½(−x₁ + 3) + tanh(−x₂) + 2|, 5·10⁻⁶) + 6)
         + c₂·(((−x₁ − 7)² + 0.1(−x₂ − 8)²)/10 − 20)

from the start points (−8.5, 7.5), (−8.5, −5) and (9, 9). The mean ½(L₁ + L₂) has its global
minimum, about −15.09, near (0, −8.36).

**Criterion** (the paper does not state it; this one reproduces its robust cells): the first
iteration t — 0-based, the start point is t = 0 — at which ½(L₁ + L₂) < −15, within at most
100,000 iterations (t ≤ 99,999); a cell is the maximum over the three start points, and "–" when
some start point never gets there.

Methods go through mtlx's registry (:func:`mtlx.methods.build_method`) on each problem's 2 × 2
Jacobian, with the reference script's settings: CAGrad with c = 0.5 and d/(1 + c), and every
update on the script's scale — the mean of the two tasks (see :data:`TOY_METHODS`). The update
rules are the script's: plain gradient descent and Adam (β = (0.9, 0.999), ε = 10⁻⁸) in the
arithmetic of the PyTorch 1.x Adam the published numbers come from (torch ≥ 2 forms the first
moment with ``lerp``, which moves chaotic cells: Adam + EW at lr 0.05 gives 2,134 instead of the
paper's 2,135).

Every problem (start point × learning rate × method × optimizer) runs in one float32 batch;
problems are independent, and a problem's numbers do not depend on which others run beside it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

from mtlx.errors import UserError

if TYPE_CHECKING:
    from pathlib import Path

    import numpy as np
    from rich.console import Console
    from torch import Tensor

    from mtlx.store.studies import StudyNumber

START_POINTS: tuple[tuple[float, float], ...] = ((-8.5, 7.5), (-8.5, -5.0), (9.0, 9.0))
LEARNING_RATES: tuple[float, ...] = (10.0, 5.0, 1.0, 0.5, 0.1, 0.05, 0.01, 0.005, 0.001)
MAX_ITERATIONS = 100_000
THRESHOLD = -15.0
LOSS_FLOOR = 0.000005  # the script's LOWER: the log's argument is clamped to it
PARETO_X2 = -8.3552  # the script's plot: the Pareto set is x₁ ∈ [−7, 7] at this x₂
PLOT_LEARNING_RATES: tuple[float, ...] = (1.0, 0.05, 0.001)  # the paper's Figure 1

CRITERION = (
    "a cell is the first iteration t (0-based; the start point is t = 0) at which the mean loss "
    "½(L₁ + L₂) < −15 (its global minimum is about −15.09), the maximum over the three start "
    "points, and – when some start point does not get there within the iterations"
)


class ToyPlanError(UserError, ValueError):
    """A toy-task setting that cannot be run."""


@dataclass(frozen=True)
class ToyMethod:
    """A method of the toy table: a registered mtlx method with the reference script's settings.

    ``reference_scale`` multiplies mtlx's update to give the script's: the script averages over
    the two tasks where mtlx's EW, PCGrad and CAGrad sum (mtlx's convention, README "Methods");
    MGDA is a convex combination in both.
    """

    name: str
    label: str
    hyperparameters: tuple[tuple[str, object], ...] = ()
    reference_scale: float = 1.0


TOY_METHODS: dict[str, ToyMethod] = {
    method.name: method
    for method in (
        ToyMethod("ew", "EW", reference_scale=0.5),  # script: ½(g₁ + g₂)
        ToyMethod("pcgrad", "PCGrad", reference_scale=0.5),  # script: half the projected sum
        # script: c = 0.5 and d/(1 + c); mtlx's CAGrad returns T·d/(1 + c) with rescale "1+c"
        ToyMethod("cagrad", "CAGrad", (("c", 0.5), ("rescale", "1+c")), reference_scale=0.5),
        ToyMethod("mgda", "MGDA"),
    )
}
OPTIMIZER_LABELS = {"gd": "GD", "adam": "Adam"}

# Table A3 of the seed paper (Table 1 is its columns 10, 1, 0.1, 0.01, 0.001); None is "–".
_PAPER_ROWS: dict[tuple[str, str], tuple[int | None, ...]] = {
    ("gd", "ew"): (None, 103, None, None, None, None, None, None, None),
    ("gd", "pcgrad"): (None,) * 9,
    ("gd", "cagrad"): (644, None, 213, 621, 8069, 5732, 20418, 34405, None),
    ("adam", "ew"): (26, 37, 22, 58, 709, 2135, 9015, 16005, None),
    ("adam", "pcgrad"): (25, 4960, 56, 15741, 34175, 41438, None, None, None),
    ("adam", "cagrad"): (27, 30, 32, 106, 802, 7109, 11239, 14323, 57700),
}
PAPER_TABLE: dict[tuple[str, str, float], int | None] = {
    (optimizer, method, lr): iterations
    for (optimizer, method), row in _PAPER_ROWS.items()
    for lr, iterations in zip(LEARNING_RATES, row, strict=True)
}


# ---- plan -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ToyPlan:
    """What to run: methods × optimizers × learning rates from every start point."""

    methods: tuple[str, ...] = tuple(TOY_METHODS)
    optimizers: tuple[str, ...] = tuple(OPTIMIZER_LABELS)
    lrs: tuple[float, ...] = LEARNING_RATES
    max_iterations: int = MAX_ITERATIONS
    threshold: float = THRESHOLD
    start_points: tuple[tuple[float, float], ...] = START_POINTS

    def __post_init__(self) -> None:
        for name in self.methods:
            if name not in TOY_METHODS:
                raise ToyPlanError(
                    f"the toy task has no method {name!r}; it runs {', '.join(TOY_METHODS)}"
                )
        for name in self.optimizers:
            if name not in OPTIMIZER_LABELS:
                raise ToyPlanError(
                    f"the toy task has no optimizer {name!r}; it runs {', '.join(OPTIMIZER_LABELS)}"
                )
        for what, values in (("methods", self.methods), ("optimizers", self.optimizers)):
            if not values:
                raise ToyPlanError(f"the toy task needs at least one of its {what}")
            if len(set(values)) < len(values):
                raise ToyPlanError(f"{what} are listed twice: {', '.join(values)}")
        if not self.lrs:
            raise ToyPlanError("the toy task needs at least one learning rate")
        bad = [lr for lr in self.lrs if not (math.isfinite(lr) and lr > 0)]
        if bad:
            raise ToyPlanError(f"learning rates must be positive, but got {bad[0]}")
        if len(set(self.lrs)) < len(self.lrs):
            raise ToyPlanError("a learning rate is listed twice")
        if self.max_iterations < 1:
            raise ToyPlanError(f"iterations must be at least 1, but got {self.max_iterations}")

    def problems(self) -> list[Problem]:
        """Every problem, grouped by method, then optimizer (contiguous rows of the batch)."""
        return [
            Problem(method, optimizer, lr, start)
            for method in self.methods
            for optimizer in self.optimizers
            for lr in self.lrs
            for start in range(len(self.start_points))
        ]

    @property
    def is_papers_setting(self) -> bool:
        """Whether cells can be compared with the paper's: its iterations, threshold, starts."""
        return (
            self.max_iterations == MAX_ITERATIONS
            and self.threshold == THRESHOLD
            and self.start_points == START_POINTS
        )

    def as_dict(self) -> dict[str, object]:
        """The resolved parameters as stored with the study run (JSON)."""
        parameters = asdict(self)
        parameters["method_settings"] = {
            name: {
                "hyperparameters": dict(TOY_METHODS[name].hyperparameters),
                "reference_scale": TOY_METHODS[name].reference_scale,
            }
            for name in self.methods
        }
        parameters["criterion"] = CRITERION
        return parameters


@dataclass(frozen=True)
class Problem:
    method: str
    optimizer: str
    lr: float
    start: int  # index into the plan's start points


# ---- run --------------------------------------------------------------------------------------


def toy_losses(x: Tensor) -> Tensor:
    """(L₁, L₂) at points ``x`` (…, 2) → (…, 2), in the reference script's operations."""
    import torch

    x1, x2 = x[..., 0], x[..., 1]
    f1 = torch.clamp((0.5 * (-x1 - 7) - torch.tanh(-x2)).abs(), LOSS_FLOOR).log() + 6
    f2 = torch.clamp((0.5 * (-x1 + 3) + torch.tanh(-x2) + 2).abs(), LOSS_FLOOR).log() + 6
    c1 = torch.clamp(torch.tanh(x2 * 0.5), 0)
    f1_sq = ((-x1 + 7).pow(2) + 0.1 * (-x2 - 8).pow(2)) / 10 - 20
    f2_sq = ((-x1 - 7).pow(2) + 0.1 * (-x2 - 8).pow(2)) / 10 - 20
    c2 = torch.clamp(torch.tanh(-x2 * 0.5), 0)
    return torch.stack([f1 * c1 + f1_sq * c2, f2 * c1 + f2_sq * c2], dim=-1)


class GradientDescent:
    """x ← x − lr·d, one learning rate per problem (PyTorch's SGD without momentum)."""

    def __init__(self, lrs: Tensor) -> None:
        import torch

        self.negative_lrs = -lrs.to(torch.float32)[:, None]

    def step(self, x: Tensor, direction: Tensor) -> None:
        # fused multiply-add, as SGD's add_(d, alpha=−lr): the product is not rounded on its own
        x.addcmul_(self.negative_lrs, direction)


class Adam:
    """Adam (Kingma & Ba, 2015) with one learning rate per problem, in PyTorch 1.x's arithmetic:

    m ← β₁m + (1 − β₁)d,  v ← β₂v + (1 − β₂)d²,  x ← x − (lr/(1 − β₁ᵏ))·m / (√v/√(1 − β₂ᵏ) + ε).
    """

    def __init__(
        self, lrs: Tensor, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8
    ) -> None:
        import torch

        self.lrs = lrs.to(torch.float64)[:, None]
        self.betas = betas
        self.eps = eps
        self.steps = 0
        self.first_moment: Tensor | None = None
        self.second_moment: Tensor | None = None

    def step(self, x: Tensor, direction: Tensor) -> None:
        import torch

        beta1, beta2 = self.betas
        if self.first_moment is None or self.second_moment is None:
            self.first_moment = torch.zeros_like(x)
            self.second_moment = torch.zeros_like(x)
        self.steps += 1
        self.first_moment.mul_(beta1).add_(direction, alpha=1 - beta1)
        self.second_moment.mul_(beta2).addcmul_(direction, direction, value=1 - beta2)
        bias_correction1 = 1 - beta1**self.steps
        bias_correction2 = 1 - beta2**self.steps
        denominator = (self.second_moment.sqrt() / math.sqrt(bias_correction2)).add_(self.eps)
        step_size = (self.lrs / bias_correction1).to(torch.float32)
        x.sub_(step_size * self.first_moment / denominator)


UPDATE_RULES = {"gd": GradientDescent, "adam": Adam}


@dataclass
class ToyRun:
    """What a run produced: per problem, the first iteration below the threshold (None: never),
    and the recorded trajectories of the problems whose learning rate is plotted."""

    plan: ToyPlan
    problems: list[Problem]
    iterations: list[int | None]
    trajectories: dict[int, np.ndarray] = field(default_factory=dict)  # problem index → (n, 2)
    iterations_run: int = 0


def _recorded(step: int) -> bool:
    """Trajectory steps kept for the plot: every one of the first 1,000, then every 100th."""
    return step < 1000 or step % 100 == 0


def run_toy(plan: ToyPlan, plot_lrs: Sequence[float] = ()) -> ToyRun:
    """Run every problem of ``plan`` in one float32 batch until all reach the threshold or the
    iterations are spent; keep the trajectories of the learning rates in ``plot_lrs``."""
    import numpy as np
    import torch

    from mtlx.methods import GramianWeighting, LossWeighting, build_method

    problems = plan.problems()
    starts = torch.tensor([plan.start_points[p.start] for p in problems], dtype=torch.float32)
    lrs = torch.tensor([p.lr for p in problems], dtype=torch.float64)
    x = starts.clone()
    first = torch.full((len(problems),), -1, dtype=torch.int64)
    per_method = len(plan.optimizers) * len(plan.lrs) * len(plan.start_points)
    per_optimizer = len(plan.lrs) * len(plan.start_points)

    blocks = []  # (method, scale, rows, [(update rule, rows within the method's block)])
    for m, name in enumerate(plan.methods):
        settings = TOY_METHODS[name]
        method = build_method(name, 2, **dict(settings.hyperparameters))
        if not isinstance(method, LossWeighting | GramianWeighting):
            raise TypeError(f"{name} is neither a loss weighting nor a Gramian weighting")
        rows = slice(m * per_method, (m + 1) * per_method)
        rules = []
        for o, optimizer in enumerate(plan.optimizers):
            inner = slice(o * per_optimizer, (o + 1) * per_optimizer)
            rules.append((UPDATE_RULES[optimizer](lrs[rows][inner]), inner))
        blocks.append((method, settings.reference_scale, rows, rules))

    plotted = [i for i, p in enumerate(problems) if any(math.isclose(p.lr, q) for q in plot_lrs)]
    recorded: list[np.ndarray] = []
    steps_run = 0
    tasks = torch.arange(2)
    for step in range(plan.max_iterations):
        # one copy of each point per task, so one backward pass gives the per-task gradients
        copies = x.detach()[:, None, :].repeat(1, 2, 1).requires_grad_(True)
        losses = toy_losses(copies)[:, tasks, tasks]  # task t's loss on copy t: (problems, T)
        mean = losses.detach().mean(dim=-1)
        first[(first < 0) & (mean < plan.threshold)] = step
        if plotted and _recorded(step):
            recorded.append(x[plotted].numpy().copy())
        steps_run = step + 1
        if bool((first >= 0).all()):
            break
        (jacobian,) = torch.autograd.grad(losses.sum(), copies)  # (problems, tasks, parameters)
        with torch.no_grad():
            for method, scale, rows, rules in blocks:
                direction = scale * _direction(method, jacobian[rows], losses.detach()[rows])
                for rule, inner in rules:
                    rule.step(x[rows][inner], direction[inner])
    trajectories = {}
    if recorded:
        stacked = np.stack(recorded, axis=1)  # (plotted problems, steps, 2)
        trajectories = {index: stacked[k] for k, index in enumerate(plotted)}
    iterations = [None if value < 0 else int(value) for value in first.tolist()]
    return ToyRun(plan, problems, iterations, trajectories, steps_run)


def _direction(method: object, jacobians: Tensor, losses: Tensor) -> Tensor:
    """Each problem's update direction from its Jacobian (problems, T, d) under ``method``.

    A loss weighting's direction is Σₜ wₜ∇Lₜ with the weights its objective puts on the losses
    (EW: ones); a Gramian weighting's, the weights it computes from the problem's Gramian. The
    sums are formed as the reference script forms them, each product wₜ∇Lₜ rounded on its own
    (a matrix product may fuse them, which moves chaotic cells).
    """
    from mtlx.methods import GramianWeighting, LossWeighting

    if isinstance(method, LossWeighting):
        method.combine(losses)
        weights = method.task_weights
    elif isinstance(method, GramianWeighting):
        gramians = (jacobians[..., :, None, :] * jacobians[..., None, :, :]).sum(dim=-1)
        weights = method.batch_weights(gramians)
    else:
        raise TypeError(f"{type(method).__name__} cannot drive the toy task")
    assert weights is not None
    return (weights[..., :, None] * jacobians).sum(dim=-2)


# ---- analyse ----------------------------------------------------------------------------------


def starts_frame(run: ToyRun) -> pd.DataFrame:
    """One row per problem: optimizer, method, lr, start, iterations (<NA>: never)."""
    frame = pd.DataFrame(
        [
            {"optimizer": p.optimizer, "method": p.method, "lr": p.lr, "start": p.start}
            for p in run.problems
        ]
    )
    frame["iterations"] = pd.array(run.iterations, dtype="Int64")
    return frame


def table_cells(starts: pd.DataFrame, comparable: bool = True) -> pd.DataFrame:
    """One row per (optimizer, method, lr): the maximum over start points, <NA> when some start
    point never reached the threshold; beside it the paper's number where it has one and the
    run is ``comparable`` (the paper's iterations, threshold and start points)."""
    grouped = starts.groupby(["optimizer", "method", "lr"], sort=False)["iterations"]
    cells = grouped.agg(lambda values: pd.NA if values.isna().any() else int(values.max()))
    frame = cells.astype("Int64").reset_index()
    frame["in_paper"] = [
        comparable and (o, m, lr) in PAPER_TABLE
        for o, m, lr in zip(frame.optimizer, frame.method, frame.lr, strict=True)
    ]
    frame["paper"] = pd.array(
        [
            PAPER_TABLE.get((o, m, lr))
            for o, m, lr in zip(frame.optimizer, frame.method, frame.lr, strict=True)
        ],
        dtype="Int64",
    )
    return frame


def matches_paper(cells: pd.DataFrame) -> pd.Series:
    """Whether each cell equals the paper's (NA = NA counts); False where the paper has none."""
    same_missing = cells["iterations"].isna() & cells["paper"].isna()
    same_value = (cells["iterations"] == cells["paper"]).fillna(False)
    return cells["in_paper"] & (same_missing | same_value.astype(bool))


def study_numbers(starts: pd.DataFrame) -> list[StudyNumber]:
    """The per-start-point results as database rows (metric ``iterations``)."""
    from mtlx.store.studies import StudyNumber

    return [
        StudyNumber(
            key={"optimizer": o, "method": m, "lr": float(lr), "start": int(s)},
            metric="iterations",
            value=None if pd.isna(n) else float(n),
        )
        for o, m, lr, s, n in starts[
            ["optimizer", "method", "lr", "start", "iterations"]
        ].itertuples(index=False)
    ]


# ---- render -----------------------------------------------------------------------------------


def cells_json(cells: pd.DataFrame) -> list[dict[str, object]]:
    """``[{"optimizer", "method", "lr", "iterations"}]``, iterations an int or None."""
    return [
        {
            "optimizer": o,
            "method": m,
            "lr": float(lr),
            "iterations": None if pd.isna(n) else int(n),
        }
        for o, m, lr, n in cells[["optimizer", "method", "lr", "iterations"]].itertuples(
            index=False
        )
    ]


def _count(value: object) -> str:
    return "–" if value is None or pd.isna(value) else f"{int(value):,}"  # type: ignore[arg-type]


def render_table(cells: pd.DataFrame, plan: ToyPlan, console: Console) -> None:
    """The table in the paper's layout: optimizer and method rows, learning-rate columns; a cell
    that differs from the paper's carries † and the paper's number is listed below."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title=Text(f"iterations to ½(L₁ + L₂) < {plan.threshold:g}"))
    table.add_column(Text(""))
    table.add_column(Text("method"))
    for lr in plan.lrs:
        table.add_column(Text(f"{lr:g}"), justify="right")
    differences = []
    indexed = cells.set_index(["optimizer", "method", "lr"])
    same = matches_paper(cells).set_axis(indexed.index)
    for o, optimizer in enumerate(plan.optimizers):
        for m, method in enumerate(plan.methods):
            row = [
                Text(OPTIMIZER_LABELS[optimizer] if m == 0 else ""),
                Text(TOY_METHODS[method].label),
            ]
            for lr in plan.lrs:
                key = (optimizer, method, lr)
                text = _count(indexed.at[key, "iterations"])
                if indexed.at[key, "in_paper"] and not same[key]:
                    text += "†"
                    differences.append(
                        f"{OPTIMIZER_LABELS[optimizer]} · {TOY_METHODS[method].label} · lr {lr:g}: "
                        f"paper {_count(indexed.at[key, 'paper'])}"
                    )
                row.append(Text(text))
            table.add_row(
                *row, end_section=m == len(plan.methods) - 1 and o < len(plan.optimizers) - 1
            )
    console.print(table)
    compared = int(cells["in_paper"].sum())
    if compared:
        console.print(
            Text(
                f"{int(matches_paper(cells).sum())} of {compared} cells the paper reports "
                "(Table A3) match it exactly"
                + ("; † differs from the paper:" if differences else ".")
            )
        )
        for difference in differences:
            console.print(Text(f"  {difference}"))
    else:
        console.print(
            Text(
                "Not the paper's setting (iterations, threshold or start points): "
                "no comparison with its Table A3."
            )
        )
    console.print(Text(f"Criterion: {CRITERION}."))


def plot_trajectories(run: ToyRun, plot_lrs: Sequence[float], path: Path) -> None:
    """Trajectories over the mean-loss landscape, one panel per optimizer × method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    import torch

    plan = run.plan
    grid = np.linspace(-11, 11, 301, dtype=np.float32)
    x1, x2 = np.meshgrid(grid, grid)
    with torch.no_grad():
        points = torch.from_numpy(np.stack([x1, x2], axis=-1))
        landscape = toy_losses(points).mean(dim=-1).numpy()
    rows, columns = len(plan.optimizers), len(plan.methods)
    figure, axes = plt.subplots(
        rows, columns, figsize=(3.6 * columns + 1.2, 3.6 * rows + 0.6), squeeze=False
    )
    colours = plt.get_cmap("plasma")(np.linspace(0.0, 0.85, max(len(plot_lrs), 1)))
    by_key = {(p.optimizer, p.method, p.lr, p.start): i for i, p in enumerate(run.problems)}
    cells = table_cells(starts_frame(run), plan.is_papers_setting).set_index(
        ["optimizer", "method", "lr"]
    )
    contour = None
    for r, optimizer in enumerate(plan.optimizers):
        for c, method in enumerate(plan.methods):
            axis = axes[r][c]
            contour = axis.contourf(x1, x2, landscape, levels=24, cmap="viridis", alpha=0.85)
            axis.plot([-7, 7], [PARETO_X2, PARETO_X2], color="0.55", linewidth=4, zorder=1)
            axis.plot(0, PARETO_X2, marker="*", markersize=13, color="k", zorder=5)
            for k, lr in enumerate(plot_lrs):
                label_done = False
                for start in range(len(plan.start_points)):
                    index = by_key.get((optimizer, method, lr, start))
                    if index is None or index not in run.trajectories:
                        continue
                    path_xy = run.trajectories[index]
                    iterations = _count(cells.at[(optimizer, method, lr), "iterations"])
                    axis.plot(
                        path_xy[:, 0],
                        path_xy[:, 1],
                        color=colours[k],
                        linewidth=1.6,
                        label=None if label_done else f"lr {lr:g}: {iterations}",
                        zorder=3,
                    )
                    label_done = True
            for start in plan.start_points:
                axis.plot(*start, marker="o", markersize=7, color="k", zorder=6)
            axis.set_xlim(-11, 11)
            axis.set_ylim(-11, 11)
            axis.set_aspect("equal")
            axis.set_title(f"{OPTIMIZER_LABELS[optimizer]} · {TOY_METHODS[method].label}")
            axis.legend(loc="lower left", fontsize=7, framealpha=0.85)
            if c == 0:
                axis.set_ylabel("x₂")
            if r == rows - 1:
                axis.set_xlabel("x₁")
    if contour is not None:
        figure.colorbar(contour, ax=axes, shrink=0.8, label="½(L₁ + L₂)")
    figure.suptitle(
        "CAGrad toy task: trajectories from the three start points (legend: iterations to < −15; "
        "★ global minimum, grey: Pareto set)",
        fontsize=10,
    )
    figure.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(figure)


def cell_lookup(cells: pd.DataFrame) -> Mapping[tuple[str, str, float], int | None]:
    """Cells as a mapping (optimizer, method, lr) → iterations or None."""
    return {
        (o, m, float(lr)): None if pd.isna(n) else int(n)
        for o, m, lr, n in cells[["optimizer", "method", "lr", "iterations"]].itertuples(
            index=False
        )
    }
