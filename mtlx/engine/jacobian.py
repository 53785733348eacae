"""Per-task gradients: the T × d Jacobian of the task losses with respect to some tensors.

Three engines, all exact:

- ``loop``: one ``autograd.grad`` call per task (T backward passes, retaining the graph);
- ``batched``: one backward with ``is_grads_batched`` (vmap over the T one-hot cotangents);
- ``backward``: T ``backward`` calls accumulating into ``.grad`` (as LibMTL does), each task's
  shared gradient copied into its row of a preallocated Jacobian with one ``cat``; heads and the
  method's parameters accumulate their gradients in place, with no copies at all.

``auto`` picks by device and task count from what was measured (README, "Per-task gradients"):
on the CPU the loop (batched/loop 1.1–1.6 on 2 cores); on a GPU the loop for T ≤ 4 and the
accumulating backward above (an H100 at T = 40: backward 0.87, batched 0.93 of the loop's time).
Any engine can be forced (``--jacobian loop|batched|backward``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

JACOBIAN_MODES = ("auto", "loop", "batched", "backward")
SMALL_TASK_COUNT = 4  # on a GPU, the loop up to here, the accumulating backward above


def resolve_jacobian_mode(mode: str, device: torch.device, num_tasks: int) -> str:
    if mode not in JACOBIAN_MODES:
        raise ValueError(f"jacobian mode must be one of {', '.join(JACOBIAN_MODES)}, got {mode!r}")
    if mode == "auto":
        if device.type == "cuda" and num_tasks > SMALL_TASK_COUNT:
            return "backward"
        return "loop"
    return mode


def accumulated_jacobian(losses: Tensor, shared: Sequence[Tensor]) -> Tensor:
    """The T × d Jacobian of ``losses`` w.r.t. the leaves ``shared``, by T accumulating backwards.

    Every other leaf the losses reach (heads, a method's parameters) keeps the *sum* of its
    per-task gradients in ``.grad``; ``shared`` leaves end with ``.grad`` unset.
    """
    size = sum(p.numel() for p in shared)
    jacobian = torch.empty(len(losses), size, dtype=losses.dtype, device=losses.device)
    for t, loss in enumerate(losses):
        for parameter in shared:
            parameter.grad = None
        loss.backward(retain_graph=t < len(losses) - 1)
        torch.cat(
            [p.grad.reshape(-1) if p.grad is not None else p.new_zeros(p.numel()) for p in shared],
            out=jacobian[t],
        )
    for parameter in shared:
        parameter.grad = None
    return jacobian


def task_gradients(
    losses: Tensor, inputs: Sequence[Tensor], mode: str = "loop", retain_graph: bool = True
) -> list[Tensor]:
    """Gradients of each of the T ``losses`` w.r.t. ``inputs``: one tensor (T, *input.shape) each.

    Inputs a loss does not depend on get zeros (a head's parameters for another task's loss).
    """
    if mode == "loop":
        rows = [
            torch.autograd.grad(
                loss,
                inputs,
                retain_graph=retain_graph or t < len(losses) - 1,
                allow_unused=True,
                materialize_grads=True,
            )
            for t, loss in enumerate(losses)
        ]
        return [torch.stack(per_input) for per_input in zip(*rows, strict=True)]
    if mode == "batched":
        cotangents = torch.eye(len(losses), dtype=losses.dtype, device=losses.device)
        return list(
            torch.autograd.grad(
                losses,
                inputs,
                grad_outputs=cotangents,
                is_grads_batched=True,
                retain_graph=retain_graph,
                allow_unused=True,
                materialize_grads=True,
            )
        )
    raise ValueError(f"jacobian mode must be 'loop' or 'batched', got {mode!r}")


def flatten_jacobian(per_input: Sequence[Tensor]) -> Tensor:
    """Concatenate per-input gradient stacks (T, *shape) into one T × d matrix."""
    return torch.cat([g.reshape(g.shape[0], -1) for g in per_input], dim=1)


def unflatten_into_grads(direction: Tensor, parameters: Sequence[Tensor]) -> None:
    """Write a flat d-vector into ``parameter.grad`` (one view per parameter, no host copies)."""
    offset = 0
    for parameter in parameters:
        size = parameter.numel()
        chunk = direction[offset : offset + size].view_as(parameter)
        if parameter.grad is None:
            parameter.grad = chunk.clone()
        else:
            parameter.grad.copy_(chunk)
        offset += size
    if offset != direction.numel():
        raise ValueError(f"direction has {direction.numel()} entries for {offset} parameters")
