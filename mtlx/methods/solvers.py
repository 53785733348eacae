"""The small convex problems behind the gradient-level methods, solved in torch on the host.

Every solver works on the T × T Gramian ``G = J Jᵀ`` of the task gradients (never on the d-dim
gradients), in float64, and runs a fixed number of iterations between convergence checks, which
read one scalar (the optimality residual) and raise :class:`SolverError` when the budget is spent
without reaching the tolerance. There is no fallback to some other answer.

The Gramian is copied to the CPU once per step and the weights copied back: one host
synchronisation per step. On a GPU the iterations themselves are launch-bound on a T × T matrix —
measured on an H100 at T = 40: MGDA's solver made 41 synchronisations a step on the device
(cuSOLVER's status checks) and CAGrad's barrier method took about 0.2 s a step.

- :func:`project_onto_simplex`: Euclidean projection onto {w ≥ 0, Σw = 1} (Duchi et al., 2008).
- :func:`min_norm_two`: Sener & Koltun's exact 2-task closed form (their Algorithm 1).
- :func:`min_norm_weights`: the minimum-norm point of the convex hull of the task gradients
  (MGDA): the best edge by the closed form, then Frank-Wolfe vertex selection with exact affine
  steps (Wolfe's min-norm-point algorithm), which terminates finitely; T = 2 is the closed form.
- :func:`nash_bargaining_weights`: the α > 0 with ``G α = 1/α`` (Nash-MTL), by Newton's method.
- :func:`cagrad_weights`: the simplex minimiser of ``wᵀG1/T + r·‖Jᵀw‖`` (CAGrad's dual), in
  closed form for T = 2, by a barrier method on its second-order-cone form for T ≥ 3.

Newton steps pick their length among 1, ½, ¼, … and the damped 1/(1 + λ) by comparing exact,
cancellation-free changes of the objective for all candidates at once (no branching on the host).
"""

from __future__ import annotations

import torch
from torch import Tensor


class SolverError(RuntimeError):
    """A solver did not reach its tolerance within its iteration budget (or has no solution)."""


def _line_search_steps(like: Tensor) -> Tensor:
    """The step sizes 1, ½, ¼, …, 2⁻³⁹ tried by the Newton line searches, on ``like``'s device."""
    return 0.5 ** torch.arange(40, dtype=like.dtype, device=like.device)


def _check(residual: Tensor, tolerance: float) -> bool:
    """One host read: whether ``residual`` (a scalar) is finite and within ``tolerance``."""
    return bool(torch.isfinite(residual) & (residual <= tolerance))


def _prepare(gramian: Tensor) -> tuple[Tensor, Tensor]:
    """The Gramian in float64 scaled to a unit largest diagonal, and that scale (1 if G = 0)."""
    if gramian.ndim != 2 or gramian.shape[0] != gramian.shape[1]:
        raise ValueError(f"gramian must be a square matrix, but got shape {tuple(gramian.shape)}.")
    g = gramian.detach().to(device="cpu", dtype=torch.float64)
    g = 0.5 * (g + g.T)
    scale = g.diagonal().max()
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    return g / scale, scale


# ------------------------------------------------------------------------------------ simplex


def project_onto_simplex(vector: Tensor) -> Tensor:
    """Euclidean projection of ``vector`` (…, n) onto the probability simplex, row by row.

    Sort-based algorithm of Duchi et al. (ICML 2008): ``w = max(y − θ, 0)`` with θ chosen so that
    Σw = 1; no data-dependent control flow, hence no host synchronisation.
    """
    n = vector.shape[-1]
    ordered = torch.sort(vector, dim=-1, descending=True).values
    cumulative = ordered.cumsum(dim=-1) - 1.0
    ranks = torch.arange(1, n + 1, device=vector.device, dtype=vector.dtype)
    active = ordered - cumulative / ranks > 0
    # the largest rank whose entry stays positive after the shift (rank 1 always qualifies)
    last = (active * ranks).argmax(dim=-1, keepdim=True)
    theta = cumulative.gather(-1, last) / (last + 1).to(vector.dtype)
    return (vector - theta).clamp_min(0.0)


# --------------------------------------------------------------------------------- min-norm


def min_norm_two(g11: Tensor, g12: Tensor, g22: Tensor) -> Tensor:
    """γ ∈ [0, 1] minimising ‖γ·g₁ + (1 − γ)·g₂‖² (Sener & Koltun, Algorithm 1).

    γ = clamp((g₂ − g₁)ᵀg₂ / ‖g₁ − g₂‖², 0, 1); equal vectors (‖g₁ − g₂‖ = 0) give γ = ½.
    Broadcasts over its arguments.
    """
    denominator = g11 + g22 - 2.0 * g12
    safe = torch.where(denominator > 0, denominator, torch.ones_like(denominator))
    gamma = ((g22 - g12) / safe).clamp(0.0, 1.0)
    return torch.where(denominator > 0, gamma, torch.full_like(gamma, 0.5))


def _best_pair(g: Tensor) -> Tensor:
    """The minimum-norm point over all edges of the simplex (the paper's initialisation)."""
    t = g.shape[0]
    diagonal = g.diagonal()
    gii, gjj = diagonal[:, None], diagonal[None, :]
    gamma = min_norm_two(gii, g, gjj)  # weight on task i for the edge (i, j)
    cost = gamma**2 * gii + 2 * gamma * (1 - gamma) * g + (1 - gamma) ** 2 * gjj
    flat = cost.reshape(-1).argmin()
    i, j = flat // t, flat % t
    weights = torch.zeros(t, dtype=g.dtype, device=g.device)
    best = torch.take(gamma, flat).reshape(1)  # (indexing by a 0-dim tensor would sync)
    weights = weights.index_add(0, i.reshape(1), best)
    return weights.index_add(0, j.reshape(1), 1 - best)


def min_norm_residual(gramian: Tensor, weights: Tensor) -> Tensor:
    """KKT residual of the min-norm problem at ``weights`` (relative to max ‖gᵢ‖²).

    With d = Jᵀw: max( ‖d‖² − minᵢ gᵢᵀd,  max_{wᵢ>0} gᵢᵀd − ‖d‖² ) — the Frank-Wolfe gap and the
    away gap; zero exactly at the minimum-norm point.
    """
    g, _ = _prepare(gramian)
    w = weights.to(torch.float64)
    projections = g @ w
    norm2 = w @ projections
    away = torch.where(w > 0, projections, torch.full_like(projections, -torch.inf)).max()
    return torch.maximum(norm2 - projections.min(), away - norm2)


def min_norm_weights(
    gramian: Tensor,
    tolerance: float = 1e-9,
    max_iterations: int | None = None,
) -> Tensor:
    """Weights w on the simplex such that Jᵀw is the minimum-norm point of conv{g₁…g_T}.

    min_w wᵀGw subject to w ≥ 0, Σw = 1 (MGDA's problem (3) in Sener & Koltun, 2018).
    T = 2: the exact closed form of the paper's Algorithm 1. T ≥ 3: start from the best edge (the
    paper's initialisation), then Frank-Wolfe steps in Wolfe's (1976) min-norm-point form: the
    Frank-Wolfe vertex j = argminᵢ gᵢᵀd joins the active set, and instead of a line search toward
    it the iterate moves to the exact minimiser of ‖d‖² on the affine hull of the active set (a
    step back to the boundary drops a vertex when that minimiser leaves the simplex). Unlike plain
    Frank-Wolfe, whose rate is sublinear and which crawls when the origin is in the hull, this
    terminates finitely. Stopping rule: KKT residual (:func:`min_norm_residual`, relative to the
    largest squared gradient norm) ≤ ``tolerance``·max(‖d‖², 10⁻³), i.e. relative to the answer
    itself unless the origin is (nearly) in the hull.
    """
    g, _ = _prepare(gramian)
    t = g.shape[0]
    if t == 1:
        return torch.ones(1, dtype=gramian.dtype, device=gramian.device)
    weights = _best_pair(g)
    if t == 2:
        return weights.to(device=gramian.device, dtype=gramian.dtype)
    active = weights > 0
    at_minimizer = torch.ones((), dtype=torch.bool, device=g.device)
    budget = max_iterations if max_iterations is not None else 25 * t
    for start in range(0, budget, t):
        for _ in range(min(t, budget - start)):
            weights, active, at_minimizer = _wolfe_step(g, weights, active, at_minimizer, tolerance)
        if _check(_min_norm_excess(g, weights, tolerance), 0.0):
            return weights.to(device=gramian.device, dtype=gramian.dtype)
    residual = float(min_norm_residual(g, weights))
    raise SolverError(
        f"min-norm solver: KKT residual {residual:.3g} not within {tolerance:g}·max(‖d‖², 1e-3) "
        f"after {budget} iterations"
    )


def _min_norm_excess(g: Tensor, weights: Tensor, tolerance: float) -> Tensor:
    """KKT residual minus its allowance; ≤ 0 once converged (``g`` already scaled)."""
    norm2 = weights @ g @ weights
    return min_norm_residual(g, weights) - tolerance * norm2.clamp_min(1e-3)


def _affine_minimizer(g: Tensor, active: Tensor) -> Tensor:
    """argmin ‖Jᵀy‖² subject to Σy = 1 and yᵢ = 0 off ``active`` (one KKT solve, masked)."""
    t = g.shape[0]
    mask = active.to(g.dtype)
    kkt = torch.zeros((t + 1, t + 1), dtype=g.dtype, device=g.device)
    kkt[:t, :t] = g * torch.outer(mask, mask) + torch.diag(1.0 - mask)
    kkt[:t, t] = mask
    kkt[t, :t] = mask
    rhs = torch.zeros(t + 1, dtype=g.dtype, device=g.device)
    rhs[t] = 1.0
    solution, _ = torch.linalg.solve_ex(kkt, rhs)
    return solution[:t] * mask


def _wolfe_step(
    g: Tensor, weights: Tensor, active: Tensor, at_minimizer: Tensor, tolerance: float
) -> tuple[Tensor, Tensor, Tensor]:
    """One major-or-minor cycle of Wolfe's algorithm, branch-free (no host synchronisation)."""
    projections = g @ weights
    vertex = projections.argmin()
    norm2 = weights @ projections
    gap = norm2 - torch.take(projections, vertex)
    # major cycle: at the affine minimiser of the active set, add the Frank-Wolfe vertex
    add = at_minimizer & (gap > tolerance * norm2.clamp_min(1e-3))
    active = active | (add & (torch.arange(g.shape[0], device=g.device) == vertex))
    candidate = _affine_minimizer(g, active)
    blocking = active & (candidate <= 0)
    inside = ~blocking.any()
    # minor cycle: step from the weights toward the candidate until a weight reaches zero
    ratios = weights / (weights - candidate).clamp_min(torch.finfo(g.dtype).tiny)
    step = torch.where(blocking, ratios, torch.full_like(ratios, torch.inf)).min().clamp(0.0, 1.0)
    step = torch.where(inside, torch.ones_like(step), step)
    updated = weights + step * (candidate - weights)
    first_blocking = torch.where(blocking, ratios, torch.full_like(ratios, torch.inf)).argmin()
    is_blocking = torch.arange(g.shape[0], device=g.device) == first_blocking
    updated = torch.where(~inside & is_blocking, torch.zeros_like(updated), updated)
    updated = updated.clamp_min(0.0)
    updated = updated / updated.sum()
    return updated, active & (updated > 0), inside


# ----------------------------------------------------------------------------- Nash bargaining


def nash_bargaining_residual(gramian: Tensor, weights: Tensor) -> Tensor:
    """maxᵢ |αᵢ·(Gα)ᵢ − 1|: zero exactly when ``G α = 1/α`` (scale-free)."""
    g = gramian.detach().to(torch.float64)
    alpha = weights.to(torch.float64)
    return (alpha * (g @ alpha) - 1.0).abs().max()


def nash_bargaining_weights(
    gramian: Tensor,
    initial: Tensor | None = None,
    tolerance: float = 1e-9,
    max_iterations: int = 500,
    check_every: int = 8,
) -> Tensor:
    """The α > 0 with ``G α = 1/α`` elementwise (Navon et al., ICML 2022, eq. (2)).

    That condition is the stationarity condition of the strictly convex, self-concordant
    f(α) = ½·αᵀGα − Σᵢ log αᵢ, so its solution is unique when it exists. Newton's method with a
    line search over the steps 1, ½, ¼, … and the damped 1/(1 + λ) (λ the Newton decrement; that
    step provably stays in α > 0 and decreases f), full steps once λ < ¼ (quadratic convergence).
    The start is ``initial`` (the previous step's weights) or αᵢ = 1/√Gᵢᵢ, rescaled by the best
    scalar factor, √(T/αᵀGα). No solution exists when a non-negative combination of the task
    gradients vanishes (a Pareto-stationary point, e.g. a zero or two opposite gradients): f is
    then unbounded below and the solver raises :class:`SolverError`.
    """
    g = gramian.detach().to(device="cpu", dtype=torch.float64)
    g = 0.5 * (g + g.T)
    t = g.shape[0]
    if initial is None:
        diagonal = g.diagonal()
        alpha = torch.where(diagonal > 0, diagonal, torch.ones_like(diagonal)).rsqrt()
    else:
        alpha = initial.detach().to(device=g.device, dtype=torch.float64)
    quadratic = alpha @ g @ alpha
    alpha = alpha * torch.where(quadratic > 0, torch.sqrt(t / quadratic), 1.0)
    halvings = _line_search_steps(g)
    for start in range(0, max_iterations, check_every):
        for _ in range(min(check_every, max_iterations - start)):
            alpha = _nash_newton_step(g, alpha, halvings)
        if _check(nash_bargaining_residual(g, alpha), tolerance):
            return alpha.to(device=gramian.device, dtype=gramian.dtype)
    residual = float(nash_bargaining_residual(g, alpha))
    raise SolverError(
        f"Nash-MTL solver: max |α·(Gα) − 1| = {residual:.3g} above {tolerance:g} after "
        f"{max_iterations} Newton iterations; the task gradients are probably linearly "
        "dependent with a vanishing non-negative combination, where no bargaining solution exists"
    )


def _nash_newton_step(g: Tensor, alpha: Tensor, halvings: Tensor) -> Tensor:
    projections = g @ alpha
    gradient = projections - 1.0 / alpha
    hessian = g + torch.diag(1.0 / alpha**2)
    step, _ = torch.linalg.solve_ex(hessian, -gradient)
    decrement = torch.sqrt((-gradient @ step).clamp_min(0.0))
    # f(α + γΔ) − f(α), cancellation-free, for every candidate γ
    steps = torch.cat([halvings, (1.0 / (1.0 + decrement)).reshape(1)])
    ratio = step / alpha
    shifted = 1.0 + steps[:, None] * ratio[None, :]
    feasible = (shifted > 0).all(dim=1)
    change = (
        steps * (projections @ step)
        + 0.5 * steps**2 * (step @ g @ step)
        - torch.log(shifted.clamp_min(torch.finfo(g.dtype).tiny)).sum(dim=1)
    )
    change = torch.where(feasible, change, torch.full_like(change, torch.inf))
    best = torch.take(steps, change.argmin())
    return alpha + torch.where(decrement < 0.25, torch.ones_like(best), best) * step


# ------------------------------------------------------------------------------------- CAGrad


def cagrad_objective(gramian: Tensor, weights: Tensor, c: float) -> Tensor:
    """CAGrad's dual objective F(w) = g_wᵀg₀ + c·‖g₀‖·‖g_w‖ with g_w = Jᵀw, g₀ = mean gradient."""
    g = gramian.detach().to(torch.float64)
    w = weights.to(torch.float64)
    t = g.shape[0]
    mean = torch.full((t,), 1.0 / t, dtype=torch.float64, device=g.device)
    g0_norm = torch.sqrt((mean @ g @ mean).clamp_min(0.0))
    return w @ g @ mean + c * g0_norm * torch.sqrt((w @ g @ w).clamp_min(0.0))


def cagrad_weights(
    gramian: Tensor,
    c: float,
    tolerance: float = 1e-10,
    newton_iterations: int = 12,
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
    smooth even where g_w = 0); each centering runs ``newton_iterations`` Newton steps on Σw = 1
    (the damped step Δ/(1 + λ), λ the Newton decrement, keeps w > 0 and is always a candidate).
    Scaling σ by r keeps the problem bounded when r = 0 (c = 0 or g₀ = 0, where every w is
    optimal). The check: the last Newton decrement λ ≤ 0.1 — inside the region of quadratic
    convergence, where ψ_t exceeds its minimum by at most −λ − log(1 − λ) < 0.006, so the
    objective is within (T + 2.006)/t of the optimum (a failing centering shows λ ≫ 1).
    """
    g, _ = _prepare(gramian)
    t_count = g.shape[0]
    dtype, device = g.dtype, g.device
    mean = torch.full((t_count,), 1.0 / t_count, dtype=dtype, device=device)
    linear = g @ mean
    radius = c * torch.sqrt((mean @ linear).clamp_min(0.0))
    if t_count == 1:
        return torch.ones(1, dtype=gramian.dtype, device=gramian.device)
    if t_count == 2:
        return _cagrad_two_tasks(g, radius).to(device=gramian.device, dtype=gramian.dtype)
    cone = radius**2 * g
    weights = mean.clone()
    barrier_parameter = 1.0
    decrement = torch.zeros((), dtype=dtype, device=device)
    halvings = _line_search_steps(g)
    while True:
        for _ in range(newton_iterations):
            weights, decrement = _cagrad_newton_step(
                linear, cone, weights, barrier_parameter, halvings
            )
        if (t_count + 2) / barrier_parameter <= tolerance:
            break
        barrier_parameter *= barrier_growth
    if not _check(decrement, 0.1):
        raise SolverError(
            f"CAGrad solver: Newton decrement {float(decrement):.3g} after the last centering "
            f"({newton_iterations} iterations at t = {barrier_parameter:.3g}); the barrier "
            "method did not converge"
        )
    return weights.to(device=gramian.device, dtype=gramian.dtype)


def _cagrad_two_tasks(g: Tensor, radius: Tensor) -> Tensor:
    """T = 2 in closed form: w = (γ, 1 − γ), u = g₂ + γa with a = g₁ − g₂.

    F(γ) = const + γ·k + r‖u‖ with k = g₀ᵀa is convex; F'(γ) = k + r·aᵀu/‖u‖ vanishes where
    r²(aᵀu)² = k²‖u‖² with aᵀu of the sign of −k, i.e. with A = ‖a‖², p = aᵀg₂, Q = ‖g₂‖² and
    D = r²A − k² > 0 at γ = (−p − k·√((QA − p²)/D))/A, then clamped to [0, 1]. D ≤ 0 makes F
    monotone with the sign of k (|r·aᵀu/‖u‖| ≤ r√A ≤ |k|): γ = 0 if k > 0, else 1. g₁ = g₂: ½.
    """
    a_norm2 = g[0, 0] + g[1, 1] - 2.0 * g[0, 1]
    p = g[0, 1] - g[1, 1]
    q = g[1, 1]
    k = 0.5 * (g[0, 0] - g[1, 1])
    d = radius**2 * a_norm2 - k**2
    spread = (q * a_norm2 - p**2).clamp_min(0.0)
    safe_a = torch.where(a_norm2 > 0, a_norm2, torch.ones_like(a_norm2))
    safe_d = torch.where(d > 0, d, torch.ones_like(d))
    interior = (-p - k * torch.sqrt(spread / safe_d)) / safe_a
    monotone = torch.where(k > 0, torch.zeros_like(k), torch.ones_like(k))  # F ↑: γ = 0
    gamma = torch.where(d > 0, interior, monotone).clamp(0.0, 1.0)
    gamma = torch.where(a_norm2 > 0, gamma, torch.full_like(gamma, 0.5))
    return torch.stack([gamma, 1.0 - gamma])


def _cagrad_newton_step(
    linear: Tensor, cone: Tensor, weights: Tensor, t: float, halvings: Tensor
) -> tuple[Tensor, Tensor]:
    """One damped Newton step on ψ_t, constrained to Σw = 1; returns (weights, decrement)."""
    n = weights.shape[0]
    qw = cone @ weights
    s = torch.sqrt(1.0 + t**2 * (weights @ qw).clamp_min(0.0))
    gradient = t * linear + (t**2 / (1.0 + s)) * qw - 1.0 / weights
    # shifting the gradient along 1 leaves the constrained step unchanged; removing its (huge,
    # t-sized) component there keeps the multiplier, and hence the step's rounding error, small
    gradient = gradient - weights @ gradient
    hessian = (
        (t**2 / (1.0 + s)) * cone
        - (t**4 / (s * (1.0 + s) ** 2)) * torch.outer(qw, qw)
        + torch.diag(1.0 / weights**2)
    )
    # Jacobi scaling of the KKT system [[H, 1], [1ᵀ, 0]]: the barrier terms 1/wᵢ² of the
    # vanishing weights dwarf the rest as t grows, a benign ill-conditioning that scaling removes
    scale = 1.0 / torch.sqrt(hessian.diagonal())
    kkt = torch.zeros((n + 1, n + 1), dtype=weights.dtype, device=weights.device)
    kkt[:n, :n] = hessian * torch.outer(scale, scale)
    kkt[:n, n] = scale
    kkt[n, :n] = scale
    rhs = torch.cat([-gradient * scale, torch.zeros_like(s).reshape(1)])
    solution, _ = torch.linalg.solve_ex(kkt, rhs)
    step = solution[:n] * scale
    decrement = torch.sqrt((-(gradient @ step)).clamp_min(0.0))
    # Inside the region of quadratic convergence (λ < ¼) the full step; before it, the best of
    # the step sizes 1, ½, ¼, … and the damped 1/(1 + λ) (which self-concordance guarantees to
    # decrease ψ_t while staying feasible), compared through cancellation-free differences of ψ_t.
    steps = torch.cat([halvings, (1.0 / (1.0 + decrement)).reshape(1)])
    ratio = step / weights
    feasible = (1.0 + steps[:, None] * ratio[None, :] > 0).all(dim=1)
    quadratic = 2.0 * steps * (weights @ cone @ step) + steps**2 * (step @ cone @ step)
    s_new = torch.sqrt((1.0 + t**2 * (weights @ qw + quadratic)).clamp_min(1.0))
    s_change = t**2 * quadratic / (s_new + s)
    change = (
        t * steps * (linear @ step)
        + s_change
        - torch.log1p(s_change / (1.0 + s))
        - torch.log1p(steps[:, None] * ratio[None, :]).sum(dim=1)
    )
    change = torch.where(feasible, change, torch.full_like(change, torch.inf))
    best = torch.take(steps, change.argmin())
    damping = torch.where(decrement < 0.25, torch.ones_like(best), best)
    return weights + damping * step, decrement
