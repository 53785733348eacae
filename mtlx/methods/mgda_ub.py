"""MGDA-UB — MGDA on the shared representation (Sener & Koltun, NeurIPS 2018, §3.3).

Minimising the upper bound ‖∂Z/∂θ‖²·‖Σₜ αₜ ∇_Z Lₜ‖² instead of ‖Σₜ αₜ ∇_θ Lₜ‖²: the same
min-norm problem (see :mod:`mtlx.methods.mgda`) on the gradients with respect to the encoder's
output Z — one backward pass through the encoder instead of T. The weights α are found on those
gradients and the aggregated ∂/∂Z = Σₜ αₜ ∇_Z Lₜ is back-propagated once through the encoder; the
paper proves this is Pareto-stationary-seeking when ∂Z/∂θ has full rank.

Scale: as MGDA, Σα = 1.
"""

from __future__ import annotations

from mtlx.methods.base import GradientSource
from mtlx.methods.mgda import MGDA
from mtlx.methods.registry import METHODS


@METHODS.register("mgda-ub")
class MGDAUpperBound(MGDA):
    source = GradientSource.REPRESENTATION
