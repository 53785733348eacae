"""The small convex problems behind the gradient-level methods, solved exactly on the host.

Every solver works on the T × T Gramian ``G = J Jᵀ`` of the task gradients (never on the d-dim
gradients), in float64 NumPy on the host: the Gramian is copied off the device once per step and
the weights copied back — one host synchronisation per step — and the iterations branch on the
host at no cost, stopping as soon as the optimality conditions hold. A T × T problem is a few
microseconds of arithmetic per iteration, so on any device its cost is the dispatch of each small
operation, which NumPy does cheaply (README, "Per-task gradients and their cost").

Each solver checks its answer and raises :class:`SolverError` when its iteration budget is spent
without reaching the tolerance; there is no fallback to some other answer. A Gramian with
non-finite entries raises :class:`NonFiniteInputError` (the gradients have diverged); a problem
with provably no solution raises :class:`NoSolutionError`, whose message says why.

- :func:`min_norm_two`: Sener & Koltun's exact 2-task closed form (their Algorithm 1).
- :func:`min_norm_weights`: the minimum-norm point of the convex hull of the task gradients
  (MGDA) by Wolfe's (1976) min-norm-point algorithm, from the best edge; T = 2 is the closed form.
- :func:`nash_bargaining_weights`: the α > 0 with ``G α = 1/α`` (Nash-MTL), by Newton's method;
  :class:`NoSolutionError` where the gradients provably admit none.
- :func:`cagrad_weights`: the simplex minimiser of ``wᵀG1/T + r·‖Jᵀw‖`` (CAGrad's dual), in
  closed form for T = 2, by a barrier method on its second-order-cone form for T ≥ 3.

Newton steps pick their length among 1, ½, ¼, … and the damped 1/(1 + λ) by comparing exact,
cancellation-free changes of the objective for all candidates at once.
"""

from __future__ import annotations

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor

Array = NDArray[np.float64]

_LINE_SEARCH_STEPS = 0.5 ** np.arange(40, dtype=np.float64)  # 1, ½, ¼, …, 2⁻³⁹
_TINY = np.finfo(np.float64).tiny
_EPSILON = np.finfo(np.float64).eps
_NASH_LOOSEST = 1e-6  # the official code stops at ‖Gα − 1/α‖ < 1e-3


class SolverError(RuntimeError):
    """A solver did not reach its tolerance within its iteration budget."""


class NonFiniteInputError(SolverError):
    """The Gramian handed to a solver has non-finite entries: the gradients have diverged."""


class NoSolutionError(SolverError):
    """The problem provably has no solution for these gradients; the message says why."""


def host_gramian(matrix: Tensor, batched: bool = False) -> Array:
    """A square matrix as a symmetric float64 NumPy array (one device-to-host copy).

    ``batched``: a stack (…, T, T) of independent square matrices is accepted too. Raises
    :class:`NonFiniteInputError` when an entry is not finite.
    """
    square = matrix.ndim >= 2 and matrix.shape[-1] == matrix.shape[-2]
    if not square or (matrix.ndim != 2 and not batched):
        expected = "a stack of square matrices" if batched else "a square matrix"
        raise ValueError(f"gramian must be {expected}, but got shape {tuple(matrix.shape)}.")
    g = matrix.detach().to(device="cpu", dtype=torch.float64).numpy()
    if not np.isfinite(g).all():
        raise NonFiniteInputError(
            "the task gradients have non-finite entries (the Gramian holds "
            f"{int((~np.isfinite(g)).sum())} of {g.size}); the run has diverged"
        )
    return 0.5 * (g + np.swapaxes(g, -1, -2))


def _scaled(g: Array) -> Array:
    """``g`` scaled to a unit largest diagonal (unchanged if that is not positive), per matrix."""
    scale = np.diagonal(g, axis1=-2, axis2=-1).max(axis=-1)[..., None, None]
    return np.where(scale > 0, g / np.where(scale > 0, scale, 1.0), g)


def _like(weights: Array, reference: Tensor) -> Tensor:
    """Host weights as a tensor on ``reference``'s device and dtype."""
    return torch.from_numpy(weights).to(device=reference.device, dtype=reference.dtype)


def _check_closed_form_batch(g: Array, solver: str) -> None:
    """A stack of Gramians is only accepted where the solver has a closed form (T ≤ 2)."""
    if g.ndim > 2 and g.shape[-1] > 2:
        raise ValueError(
            f"the {solver} solver takes a stack of Gramians only for T ≤ 2 (its closed form), "
            f"but got shape {g.shape}; solve each Gramian on its own."
        )


def _best_step(changes: Array, steps: Array) -> float:
    """The candidate step with the smallest objective change (infeasible ones are +∞)."""
    return float(steps[int(np.argmin(changes))])


# --------------------------------------------------------------------------------- min-norm


def min_norm_two(g11: float | Tensor, g12: float | Tensor, g22: float | Tensor) -> Array:
    """γ ∈ [0, 1] minimising ‖γ·g₁ + (1 − γ)·g₂‖² (Sener & Koltun, Algorithm 1).

    γ = clamp((g₂ − g₁)ᵀg₂ / ‖g₁ − g₂‖², 0, 1); equal vectors (‖g₁ − g₂‖ = 0) give γ = ½.
    Broadcasts over its arguments.
    """
    g11, g12, g22 = (np.asarray(x, dtype=np.float64) for x in (g11, g12, g22))
    denominator = g11 + g22 - 2.0 * g12
    safe = np.where(denominator > 0, denominator, 1.0)
    gamma = np.clip((g22 - g12) / safe, 0.0, 1.0)
    return np.where(denominator > 0, gamma, 0.5)


def _best_pair(g: Array) -> Array:
    """The minimum-norm point over all edges of the simplex (the paper's initialisation).

    Vectorised over leading dimensions: one edge per matrix of a stack (…, T, T).
    """
    t = g.shape[-1]
    diagonal = np.diagonal(g, axis1=-2, axis2=-1)
    gii, gjj = diagonal[..., :, None], diagonal[..., None, :]
    gamma = min_norm_two(gii, g, gjj)  # weight on task i for the edge (i, j)
    cost = gamma**2 * gii + 2 * gamma * (1 - gamma) * g + (1 - gamma) ** 2 * gjj
    best = cost.reshape(*cost.shape[:-2], t * t).argmin(axis=-1)[..., None]
    i, j = np.divmod(best, t)
    gamma_ij = np.take_along_axis(gamma.reshape(*gamma.shape[:-2], t * t), best, axis=-1)
    tasks = np.arange(t)
    return gamma_ij * (tasks == i) + (1.0 - gamma_ij) * (tasks == j)


def _min_norm_residual(projections: Array, w: Array) -> float:
    """The KKT residual below from the projections Gw (computed once per iteration)."""
    norm2 = w @ projections
    away = projections[w > 0].max()
    return float(max(norm2 - projections.min(), away - norm2))


def min_norm_residual(gramian: Tensor, weights: Tensor) -> float:
    """KKT residual of the min-norm problem at ``weights`` (relative to max ‖gᵢ‖²).

    With d = Jᵀw: max( ‖d‖² − minᵢ gᵢᵀd,  max_{wᵢ>0} gᵢᵀd − ‖d‖² ) — the Frank-Wolfe gap and the
    away gap; zero exactly at the minimum-norm point.
    """
    w = weights.detach().to(device="cpu", dtype=torch.float64).numpy()
    return _min_norm_residual(_scaled(host_gramian(gramian)) @ w, w)


def _affine_minimizer(g: Array, active: NDArray[np.bool_]) -> Array:
    """argmin ‖Jᵀy‖² subject to Σy = 1 and yᵢ = 0 off ``active`` (one small KKT solve)."""
    index = np.flatnonzero(active)
    n = len(index)
    kkt = np.zeros((n + 1, n + 1))
    kkt[:n, :n] = g[np.ix_(index, index)]
    kkt[:n, n] = kkt[n, :n] = 1.0
    rhs = np.zeros(n + 1)
    rhs[n] = 1.0
    # least squares: exact where the system is regular, and the minimiser of smallest norm where
    # the active gradients are affinely dependent (numerically, near the end of a solve)
    solution = np.linalg.lstsq(kkt, rhs, rcond=None)[0]
    y = np.zeros(g.shape[0])
    y[index] = solution[:n]
    return y


def min_norm_weights(
    gramian: Tensor,
    tolerance: float = 1e-9,
    max_iterations: int | None = None,
) -> Tensor:
    """Weights w on the simplex such that Jᵀw is the minimum-norm point of conv{g₁…g_T}.

    min_w wᵀGw subject to w ≥ 0, Σw = 1 (MGDA's problem (3) in Sener & Koltun, 2018).
    T = 2: the exact closed form of the paper's Algorithm 1. T ≥ 3: start from the best edge (the
    paper's initialisation), then Wolfe's (1976) min-norm-point algorithm: a major cycle adds the
    Frank-Wolfe vertex j = argminᵢ gᵢᵀd to the active set and moves to the exact minimiser of ‖d‖²
    on its affine hull; when that minimiser leaves the simplex, minor cycles step back to the
    boundary and drop the vertex that reaches zero. Unlike plain Frank-Wolfe, whose rate is
    sublinear and which crawls when the origin is in the hull, this terminates finitely. Stopping
    rule: KKT residual (:func:`min_norm_residual`, relative to the largest squared gradient norm)
    ≤ ``tolerance``·max(‖d‖², 10⁻³), i.e. relative to the answer itself unless the origin is
    (nearly) in the hull. ``max_iterations`` (default 25·T) counts major and minor cycles.

    A stack (…, T, T) of Gramians with T ≤ 2 is solved in one vectorised pass (the closed form),
    with the same numbers as one call per Gramian.
    """
    g = _scaled(host_gramian(gramian, batched=True))
    t = g.shape[-1]
    _check_closed_form_batch(g, "min-norm")
    if t == 1:
        return torch.ones(gramian.shape[:-1], dtype=gramian.dtype, device=gramian.device)
    weights = _best_pair(g)
    if t == 2:
        return _like(weights, gramian)
    budget = max_iterations if max_iterations is not None else 25 * t
    active = weights > 0
    at_minimizer = True  # the weights minimise ‖d‖² on the active set's affine hull
    for _ in range(budget):
        projections = g @ weights
        norm2 = weights @ projections
        allowance = tolerance * max(norm2, 1e-3)
        if _min_norm_residual(projections, weights) <= allowance:
            return _like(weights, gramian)
        vertex = int(np.argmin(projections))
        if at_minimizer and norm2 - projections[vertex] > allowance:
            active[vertex] = True
        candidate = _affine_minimizer(g, active)
        blocking = active & (candidate <= 0)
        at_minimizer = not blocking.any()
        if at_minimizer:
            weights = candidate
        else:  # minor cycle: toward the candidate until the first weight reaches zero
            ratios = np.full(t, np.inf)
            ratios[blocking] = weights[blocking] / np.maximum(
                weights[blocking] - candidate[blocking], _TINY
            )
            first = int(np.argmin(ratios))
            weights = weights + min(ratios[first], 1.0) * (candidate - weights)
            weights[first] = 0.0
        weights = np.maximum(weights, 0.0)
        weights /= weights.sum()
        active &= weights > 0
    residual = _min_norm_residual(g @ weights, weights)
    if residual <= tolerance * max(weights @ g @ weights, 1e-3):
        return _like(weights, gramian)
    raise SolverError(
        f"min-norm solver: KKT residual {residual:.3g} not within {tolerance:g}·max(‖d‖², 1e-3) "
        f"after {budget} iterations"
    )


# ----------------------------------------------------------------------------- Nash bargaining


def _nash_residual(g: Array, alpha: Array) -> float:
    return float(np.abs(alpha * (g @ alpha) - 1.0).max())


def _nash_converged(g: Array, alpha: Array, tolerance: float) -> bool:
    """|αᵢ(Gα)ᵢ − 1| ≤ ``tolerance`` plus float64's resolution of that product, 10·T·ε·αᵢ(|G|α)ᵢ
    (large near a Pareto-stationary point, where α is large and (Gα)ᵢ cancels), but never looser
    than ``_NASH_LOOSEST``."""
    resolution = 10 * g.shape[0] * _EPSILON * alpha * (np.abs(g) @ alpha)
    allowed = tolerance + np.minimum(resolution, _NASH_LOOSEST)
    return bool((np.abs(alpha * (g @ alpha) - 1.0) <= allowed).all())


def nash_bargaining_residual(gramian: Tensor, weights: Tensor) -> float:
    """maxᵢ |αᵢ·(Gα)ᵢ − 1|: zero exactly when ``G α = 1/α`` (scale-free)."""
    alpha = weights.detach().to(device="cpu", dtype=torch.float64).numpy()
    return _nash_residual(host_gramian(gramian), alpha)


def nash_bargaining_weights(
    gramian: Tensor,
    initial: Tensor | None = None,
    tolerance: float = 1e-9,
    max_iterations: int = 500,
) -> Tensor:
    """The α > 0 with ``G α = 1/α`` elementwise (Navon et al., ICML 2022, eq. (2)).

    That condition is the stationarity condition of the strictly convex, self-concordant
    f(α) = ½·αᵀGα − Σᵢ log αᵢ, so its solution is unique when it exists. It is solved on G scaled
    to a unit largest diagonal, G = s·Ĝ, whose solution α̂ gives α = α̂/√s. Newton's method with a
    line search over the steps 1, ½, ¼, … and the damped 1/(1 + λ) (λ the Newton decrement; that
    step provably stays in α > 0 and decreases f), full steps once λ < ¼ (quadratic convergence),
    until max |α·(Gα) − 1| ≤ ``tolerance`` — near a Pareto-stationary point, where α is large and
    (Gα)ᵢ cancels, to within float64's resolution of that product, at most 10⁻⁶. The start is
    ``initial`` (the previous weights) or αᵢ = 1/√Gᵢᵢ, rescaled by the best factor, √(T/αᵀGα).

    A solution exists exactly when no non-negative combination of the task gradients vanishes
    (Gordan: then some d has gᵢᵀd > 0 for every i, and f is coercive); otherwise some αᵢ·gᵢᵀd ≤ 0
    for every α. :class:`NoSolutionError` says so when a gradient is zero, or when Newton's method
    fails and the minimum-norm point of the gradients' convex hull (MGDA's) is zero to within
    10⁻¹⁰ of the largest squared gradient norm; any other failure raises :class:`SolverError`.
    """
    g = host_gramian(gramian)
    t = g.shape[0]
    diagonal = g.diagonal()
    zero = np.flatnonzero(diagonal <= 0)
    if zero.size == t:
        raise NoSolutionError("Nash-MTL: every task gradient is zero, there is nothing to bargain")
    if zero.size:
        raise NoSolutionError(
            f"Nash-MTL: the gradient of task {int(zero[0])} is zero while others are not; a task "
            "that no shared step can improve has no Nash bargaining solution"
        )
    scale = float(diagonal.max())
    g = g / scale
    if initial is None:
        alpha = 1.0 / np.sqrt(g.diagonal())
    else:
        alpha = initial.detach().to(device="cpu", dtype=torch.float64).numpy() * np.sqrt(scale)
    quadratic = alpha @ g @ alpha
    if quadratic > 0:
        alpha = alpha * np.sqrt(t / quadratic)
    # where no solution exists f is unbounded below and α overflows: the check below reports it
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(max_iterations):
            if _nash_converged(g, alpha, tolerance):
                return _like(alpha / np.sqrt(scale), gramian)
            alpha = _nash_newton_step(g, alpha)
            if not np.isfinite(alpha).all():
                break
        finite = bool(np.isfinite(alpha).all())
        if finite and _nash_converged(g, alpha, tolerance):
            return _like(alpha / np.sqrt(scale), gramian)
        residual = _nash_residual(g, alpha) if finite else np.inf
    closest = min_norm_weights(torch.from_numpy(g)).numpy()
    distance = float(closest @ g @ closest)
    if distance <= 1e-10:
        raise NoSolutionError(
            "Nash-MTL: a non-negative combination of the task gradients vanishes (the point of "
            f"their convex hull nearest the origin has ‖d‖² = {distance:.2g}·max ‖gₜ‖²): the "
            "shared parameters are Pareto-stationary and no Nash bargaining solution exists"
        )
    raise SolverError(
        f"Nash-MTL solver: max |α·(Gα) − 1| = {residual:.3g} above {tolerance:g} after "
        f"{max_iterations} Newton iterations, although the task gradients' convex hull keeps "
        f"‖d‖² ≥ {distance:.2g}·max ‖gₜ‖² from the origin"
    )


def _nash_newton_step(g: Array, alpha: Array) -> Array:
    projections = g @ alpha
    gradient = projections - 1.0 / alpha
    hessian = g + np.diag(1.0 / alpha**2)
    step = _solve(hessian, -gradient)
    decrement = np.sqrt(max(-(gradient @ step), 0.0))
    if decrement < 0.25:
        return alpha + step
    # f(α + γΔ) − f(α), cancellation-free, for every candidate γ
    steps = np.append(_LINE_SEARCH_STEPS, 1.0 / (1.0 + decrement))
    shifted = 1.0 + steps[:, None] * (step / alpha)[None, :]
    feasible = (shifted > 0).all(axis=1)
    change = (
        steps * (projections @ step)
        + 0.5 * steps**2 * (step @ g @ step)
        - np.log(np.maximum(shifted, _TINY)).sum(axis=1)
    )
    return alpha + _best_step(np.where(feasible, change, np.inf), steps) * step


def _solve(matrix: Array, rhs: Array) -> Array:
    """``matrix⁻¹ rhs``; NaNs where the matrix is singular, so the caller's check fails loudly."""
    try:
        return np.linalg.solve(matrix, rhs)
    except np.linalg.LinAlgError:
        return np.full_like(rhs, np.nan)


# ------------------------------------------------------------------------------------- CAGrad


def cagrad_objective(gramian: Tensor, weights: Tensor, c: float) -> float:
    """CAGrad's dual objective F(w) = g_wᵀg₀ + c·‖g₀‖·‖g_w‖ with g_w = Jᵀw, g₀ = mean gradient."""
    g = host_gramian(gramian)
    w = weights.detach().to(device="cpu", dtype=torch.float64).numpy()
    mean = np.full(g.shape[0], 1.0 / g.shape[0])
    g0_norm = np.sqrt(max(mean @ g @ mean, 0.0))
    return float(w @ g @ mean + c * g0_norm * np.sqrt(max(w @ g @ w, 0.0)))


def cagrad_weights(
    gramian: Tensor,
    c: float,
    tolerance: float = 1e-10,
    newton_iterations: int = 50,
    barrier_growth: float = 30.0,
) -> Tensor:
    """The simplex point w minimising g_wᵀg₀ + c·‖g₀‖·‖g_w‖ (CAGrad's dual, Liu et al. 2021).

    T = 2 has a closed form (:func:`_cagrad_two_tasks`). For T ≥ 3:
    With G scaled to a unit largest diagonal, b = G1/T, r = c·‖g₀‖ and Q = r²G, the problem is the
    second-order-cone program min bᵀw + σ s.t. σ ≥ √(wᵀQw), w ≥ 0, Σw = 1, solved by the barrier
    method: for t = 1, 30, 900, … minimise t·(bᵀw + σ) − log(σ² − wᵀQw) − Σ log wᵢ on Σw = 1
    until the duality-gap bound (T + 2)/t is ≤ ``tolerance``. σ is minimised out in closed form,
    σ = (1 + s)/t with s = √(1 + t²·wᵀQw), leaving the smooth self-concordant
    ψ_t(w) = t·bᵀw + s − log(1 + s) − Σ log wᵢ (no cancellation in σ² − wᵀQw = 2(1 + s)/t², and
    smooth even where g_w = 0); each centering runs Newton steps on Σw = 1 (the damped step
    Δ/(1 + λ), λ the Newton decrement, keeps w > 0 and is always a candidate) until λ ≤ 10⁻⁶, at
    most ``newton_iterations``. Scaling σ by r keeps the problem bounded when r = 0 (c = 0 or
    g₀ = 0, where every w is optimal). The check: the last decrement λ ≤ 0.1 — inside the region
    of quadratic convergence, where ψ_t exceeds its minimum by at most −λ − log(1 − λ) < 0.006, so
    the objective is within (T + 2.006)/t of the optimum (a failing centering shows λ ≫ 1).

    A stack (…, T, T) of Gramians with T ≤ 2 is solved in one vectorised pass (the closed form),
    with the same numbers as one call per Gramian.
    """
    g = _scaled(host_gramian(gramian, batched=True))
    t_count = g.shape[-1]
    _check_closed_form_batch(g, "CAGrad")
    mean = np.full(t_count, 1.0 / t_count)
    linear = g @ mean
    radius = c * np.sqrt(np.maximum(linear @ mean, 0.0))
    if t_count == 1:
        return torch.ones(gramian.shape[:-1], dtype=gramian.dtype, device=gramian.device)
    if t_count == 2:
        return _like(_cagrad_two_tasks(g, radius), gramian)
    cone = radius**2 * g
    weights = mean.copy()
    barrier_parameter = 1.0
    decrement = 0.0
    while True:
        for _ in range(newton_iterations):
            weights, decrement = _cagrad_newton_step(linear, cone, weights, barrier_parameter)
            if not decrement > 1e-6:  # also stops on NaN, which the check below reports
                break
        if (t_count + 2) / barrier_parameter <= tolerance:
            break
        barrier_parameter *= barrier_growth
    if not (decrement <= 0.1 and np.isfinite(weights).all()):
        raise SolverError(
            f"CAGrad solver: Newton decrement {decrement:.3g} after the last centering "
            f"({newton_iterations} iterations at t = {barrier_parameter:.3g}); the barrier "
            "method did not converge"
        )
    return _like(weights, gramian)


def _cagrad_two_tasks(g: Array, radius: float | Array) -> Array:
    """T = 2 in closed form: w = (γ, 1 − γ), u = g₂ + γa with a = g₁ − g₂.

    F(γ) = const + γ·k + r‖u‖ with k = g₀ᵀa is convex; F'(γ) = k + r·aᵀu/‖u‖ vanishes where
    r²(aᵀu)² = k²‖u‖² with aᵀu of the sign of −k, i.e. with A = ‖a‖², p = aᵀg₂, Q = ‖g₂‖² and
    D = r²A − k² > 0 at γ = (−p − k·√((QA − p²)/D))/A, then clamped to [0, 1]. D ≤ 0 makes F
    monotone with the sign of k (|r·aᵀu/‖u‖| ≤ r√A ≤ |k|): γ = 0 if k > 0, else 1. g₁ = g₂: ½.
    Vectorised over leading dimensions of ``g`` (…, 2, 2) and ``radius`` (…).
    """
    a_norm2 = g[..., 0, 0] + g[..., 1, 1] - 2.0 * g[..., 0, 1]
    p = g[..., 0, 1] - g[..., 1, 1]
    q = g[..., 1, 1]
    k = 0.5 * (g[..., 0, 0] - g[..., 1, 1])
    d = radius**2 * a_norm2 - k**2
    spread = np.maximum(q * a_norm2 - p**2, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):  # the branches not taken: masked below
        stationary = np.clip((-p - k * np.sqrt(spread / d)) / a_norm2, 0.0, 1.0)
    monotone = np.where(k > 0, 0.0, 1.0)  # F monotone: increasing when k > 0
    gamma = np.where(a_norm2 <= 0, 0.5, np.where(d > 0, stationary, monotone))
    return np.stack([gamma, 1.0 - gamma], axis=-1)


def _cagrad_newton_step(
    linear: Array, cone: Array, weights: Array, t: float
) -> tuple[Array, float]:
    """One damped Newton step on ψ_t, constrained to Σw = 1; returns (weights, decrement)."""
    n = weights.shape[0]
    qw = cone @ weights
    s = np.sqrt(1.0 + t**2 * max(weights @ qw, 0.0))
    gradient = t * linear + (t**2 / (1.0 + s)) * qw - 1.0 / weights
    # shifting the gradient along 1 leaves the constrained step unchanged; removing its (huge,
    # t-sized) component there keeps the multiplier, and hence the step's rounding error, small
    gradient = gradient - weights @ gradient
    hessian = (
        (t**2 / (1.0 + s)) * cone
        - (t**4 / (s * (1.0 + s) ** 2)) * np.outer(qw, qw)
        + np.diag(1.0 / weights**2)
    )
    # Jacobi scaling of the KKT system [[H, 1], [1ᵀ, 0]]: the barrier terms 1/wᵢ² of the
    # vanishing weights dwarf the rest as t grows, a benign ill-conditioning that scaling removes
    scale = 1.0 / np.sqrt(hessian.diagonal())
    kkt = np.zeros((n + 1, n + 1))
    kkt[:n, :n] = hessian * np.outer(scale, scale)
    kkt[:n, n] = kkt[n, :n] = scale
    solution = _solve(kkt, np.append(-gradient * scale, 0.0))
    step = solution[:n] * scale
    decrement = float(np.sqrt(max(-(gradient @ step), 0.0)))
    if not np.isfinite(step).all():
        return weights, np.inf
    if decrement < 0.25:  # the region of quadratic convergence: the full step
        return weights + step, decrement
    # before it, the best of the step sizes 1, ½, ¼, … and the damped 1/(1 + λ) (which
    # self-concordance guarantees to decrease ψ_t while staying feasible), compared through
    # cancellation-free differences of ψ_t
    steps = np.append(_LINE_SEARCH_STEPS, 1.0 / (1.0 + decrement))
    ratio = step / weights
    feasible = (1.0 + steps[:, None] * ratio[None, :] > 0).all(axis=1)
    quadratic = 2.0 * steps * (weights @ cone @ step) + steps**2 * (step @ cone @ step)
    s_new = np.sqrt(np.maximum(1.0 + t**2 * (weights @ qw + quadratic), 1.0))
    s_change = t**2 * quadratic / (s_new + s)
    with np.errstate(invalid="ignore", divide="ignore"):  # infeasible candidates: masked below
        barrier = np.log1p(steps[:, None] * ratio[None, :]).sum(axis=1)
    change = t * steps * (linear @ step) + s_change - np.log1p(s_change / (1.0 + s)) - barrier
    return weights + _best_step(np.where(feasible, change, np.inf), steps) * step, decrement
