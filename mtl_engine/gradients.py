"""Per-task gradients and gradient diagnostics (first simple version; see issue 4)."""

from __future__ import annotations

from collections.abc import Sequence

import torch


def task_gradients(losses: torch.Tensor, wrt: Sequence[torch.Tensor]) -> torch.Tensor:
    """G (T x P): row i is the gradient of losses[i] w.r.t. the tensors in `wrt`, flattened.

    The graph is retained so the caller can still back-propagate the combined loss.
    """
    rows = []
    for i in range(losses.shape[0]):
        grads = torch.autograd.grad(losses[i], list(wrt), retain_graph=True, allow_unused=True)
        rows.append(torch.cat([
            (g if g is not None else torch.zeros_like(t)).reshape(-1)
            for g, t in zip(grads, wrt)
        ]))
    return torch.stack(rows)


def diagnostics(grads: torch.Tensor, weights: torch.Tensor) -> dict[str, torch.Tensor]:
    """Norms, pairwise cosine and cosine with the applied update d = sum_i w_i g_i (tensors)."""
    norms = grads.norm(dim=1)
    unit = grads / norms.clamp_min(1e-12)[:, None]
    update = weights.to(grads.dtype) @ grads
    update_unit = update / update.norm().clamp_min(1e-12)
    return {"norms": norms, "cosine": unit @ unit.T, "update_cosine": unit @ update_unit}
