"""Per-task gradients and the gradient-conflict diagnostics computed from them.

`task_gradients(losses, wrt)` returns G (T x P): row i is the gradient of task i's loss w.r.t. the
tensors in `wrt`, flattened and concatenated, on the losses' device. The graph is retained, so
the caller can still back-propagate the combined loss. How it is computed depends on what `wrt`
is, and never on timings:

* parameters (grad_mode "shared"): one vmapped backward pass (`is_grads_batched`) with the rows of
  the T x T identity as cotangents, so the trunk's backward runs once for all tasks, batched.
  Except on the CPU when the parameters include convolution kernels (3-D or more): there
  PyTorch's vmap rules for the convolution and pooling backward run per batch entry with extra
  copies (24 instead of 18 convolution_backward calls for T = 3, plus cat and fill), and one
  backward per task on the device is faster (LeNet, T = 3-8: 10-15% faster than vmapped;
  benchmarks/bench_gradients.py). The two give the same numbers.
* non-leaf tensors (grad_mode "representation": the shared tensor the heads read): one
  `autograd.grad` per task. Each loss reaches the representation only through its own head, so
  the T calls together cost one backward pass through the heads; a vmapped call would run every
  head's backward T times.

`task_gramian(losses, wrt)` gives what a method that needs only the Gramian uses (input kind
GRAMIAN): K = G G^T and w^T G, by the same routes, without ever concatenating G (the vmapped
route's per-tensor batched gradients are kept as blocks), so G's memory is needed once, not twice.

A two-stage variant (per-task cotangents on the representation, then one vmapped pass through the
trunk only) was measured and dropped: on CPU it was slower than the single vmapped pass for both
an MLP and a LeNet trunk (benchmarks/bench_gradients.py, docs/gradients.md).

Some graphs cannot be vmapped (a custom autograd.Function without a vmap rule, `.item()` inside a
backward). Then the same call falls back to one backward per task: the same numbers, only slower.
The fallback is announced once with a GradientFallbackWarning and remembered for those tensors,
so later steps go straight to the loop instead of failing again (`fallback_notes()` lists them).
"""

from __future__ import annotations

import warnings
import weakref
from collections.abc import Sequence

import torch

_BATCH_ERRORS = (RuntimeError, NotImplementedError)
# id(wrt tensors) -> (the first tensor, why vmapping failed there); the weak reference tells a
# reused id of a dead tensor from the same tensor seen again.
_no_vmap: dict[tuple[int, ...], tuple[weakref.ref[torch.Tensor], str]] = {}


class GradientFallbackWarning(UserWarning):
    """Per-task gradients fell back from one batched pass to one pass per task."""


def task_gradients(losses: torch.Tensor, wrt: Sequence[torch.Tensor]) -> torch.Tensor:
    """G (T x P): row i is d losses[i] / d wrt, flattened; the graph is retained."""
    wrt = list(wrt)
    n_tasks = int(losses.shape[0])
    if not wrt:
        return losses.new_zeros(n_tasks, 0)
    if not losses.requires_grad:
        return _zeros(wrt, n_tasks, losses)
    if all(not t.is_leaf for t in wrt) or _conv_on_cpu(wrt):
        return _per_task(losses, wrt)
    return _batched_or_loop(losses, wrt)


# From this many values in G (T x P) on, task_gramian keeps the batched gradients as per-tensor
# blocks instead of concatenating them: 2**15 (128 KiB in float32). Below it the memory saved is
# small, and one matrix product instead of one per tensor saves a few small operations per step,
# which is what a small model's step is made of.
BLOCKS_FROM = 2 ** 15


class TaskGramian:
    """The per-task gradients as per-tensor blocks (T x n_b each, never concatenated into G):
    their Gramian K = sum_b G_b G_b^T, and the combined update w^T G formed block by block.
    For the methods whose weights depend on K only (the GRAMIAN input), this is all a step
    needs, and the T x P matrix G is never built: the peak is the blocks themselves."""

    __slots__ = ("blocks", "gramian", "shapes", "width")

    def __init__(self, blocks: Sequence[torch.Tensor], n_tasks: int, like: torch.Tensor,
                 shapes: Sequence[torch.Size]) -> None:
        self.blocks = list(blocks)
        self.shapes = list(shapes)  # the tensors' shapes, in the columns' order
        self.width = sum(int(b.shape[1]) for b in self.blocks)
        k = (self.blocks[0] if self.blocks else like).new_zeros(n_tasks, n_tasks)
        for b in self.blocks:
            k.addmm_(b, b.T)
        self.gramian = k

    def direction(self, weights: torch.Tensor) -> torch.Tensor:
        """w^T G (P,), flattened as task_gradients' columns."""
        if not self.blocks:
            return self.gramian.new_zeros(0)
        w = weights.to(self.gramian.dtype)
        return torch.cat([w @ b for b in self.blocks])

    def update(self, weights: torch.Tensor) -> list[torch.Tensor]:
        """w^T G per tensor (each shaped as its tensor), new tensors (the pieces of one where
        the blocks are one): what backward_along puts on the parameters without a copy."""
        if len(self.blocks) == len(self.shapes):
            w = weights.to(self.gramian.dtype)
            return [(w @ b).view(s) for b, s in zip(self.blocks, self.shapes)]
        flat = self.direction(weights)
        return [part.view(s) for part, s in zip(
            flat.split([s.numel() for s in self.shapes]), self.shapes)]


def task_gramian(losses: torch.Tensor, wrt: Sequence[torch.Tensor]) -> TaskGramian:
    """K = G G^T and the means to apply w^T G for G = task_gradients(losses, wrt), by the same
    route, without the concatenated G: the vmapped route's per-tensor batched gradients are the
    blocks as they come (views); the per-task route fills one T x P buffer row by row, which
    is then the one block. The graph is retained."""
    wrt = list(wrt)
    n_tasks = int(losses.shape[0])
    if wrt and losses.requires_grad and all(t.is_leaf for t in wrt) and not _conv_on_cpu(wrt):
        grads = _batched(losses, wrt)
        if grads is not None:
            shapes = [t.shape for t in wrt]
            if n_tasks * sum(t.numel() for t in wrt) < BLOCKS_FROM:  # small: one block is faster
                return TaskGramian([_rows(grads, wrt, n_tasks)], n_tasks, losses, shapes)
            blocks = [(g if g is not None else t.new_zeros((n_tasks, *t.shape))).reshape(
                n_tasks, -1) for g, t in zip(grads, wrt)]
            return TaskGramian(blocks, n_tasks, losses, shapes)
    return TaskGramian([task_gradients(losses, wrt)], n_tasks, losses, [t.shape for t in wrt])


def _conv_on_cpu(wrt: Sequence[torch.Tensor]) -> bool:
    return wrt[0].device.type == "cpu" and any(t.dim() >= 3 for t in wrt)


def backward_reusing(
    total: torch.Tensor,
    weights: torch.Tensor,
    grads: torch.Tensor,
    shared: Sequence[torch.Tensor],
    others: Sequence[torch.Tensor],
    shared_extra: torch.Tensor | None = None,
) -> None:
    """Back-propagate `total` = sum_i w_i L_i (+ terms on `others`) reusing G = task_gradients(
    losses, shared): the shared parameters' gradient is exactly w^T G, so the backward pass runs
    into `others` (heads, a strategy's own parameters) only, and the trunk's is saved.

    Valid when `weights` are d total / d L_i and `total` reaches `shared` only through the
    losses (the strategy contract tests check the first; strategies see detached inputs only).
    `shared_extra` (penalties on the shared parameters) is back-propagated into `shared`.
    """
    backward_along(total, weights.to(grads.dtype) @ grads, shared, others, shared_extra)


def backward_along(
    total: torch.Tensor,
    direction: torch.Tensor | Sequence[torch.Tensor],
    shared: Sequence[torch.Tensor],
    others: Sequence[torch.Tensor],
    shared_extra: torch.Tensor | None = None,
    representation: torch.Tensor | None = None,
) -> None:
    """Put the update `direction` on the shared parameters and back-propagate `total` into
    `others` only (heads, a strategy's own parameters); `shared_extra` goes into `shared`.

    Without `representation`, `direction` is the shared parameters' gradient itself: flattened in
    their order (as task_gradients' columns), or one new tensor per parameter (TaskGramian.update),
    which becomes that parameter's gradient as it is, with no copy. With it (grad_mode
    "representation"), `direction` is a cotangent on that tensor (its elements flattened),
    back-propagated through the trunk into `shared`: the gradient a loss would give whose
    gradient at the representation is `direction`.
    """
    if representation is not None:  # first, while the heads' graph is still there
        torch.autograd.backward(representation, direction.view_as(representation).to(
            representation.dtype), inputs=list(shared), retain_graph=True)
    others = [p for p in others if p.requires_grad]
    if others and total.requires_grad:
        torch.autograd.backward(total, inputs=others)
    if shared_extra is not None and shared_extra.requires_grad:
        torch.autograd.backward(shared_extra, inputs=list(shared))
    if representation is not None:
        return
    fresh = isinstance(direction, (list, tuple))  # one new tensor per parameter: used as it is
    parts = direction if fresh else direction.split([p.numel() for p in shared])
    for p, g in zip(shared, parts, strict=True):
        g = g.view_as(p).to(p.dtype)
        if p.grad is None:
            p.grad = g if fresh else g.clone()
        else:
            p.grad.add_(g)


def fallback_notes() -> list[str]:
    """Why the batched pass was given up, per set of tensors, for this process."""
    return [note for ref, note in _no_vmap.values() if ref() is not None]


def diagnostics(grads: torch.Tensor, weights: torch.Tensor,
                direction: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """Norms, pairwise cosine and cosine with the applied update (tensors): d = sum_i w_i g_i, or
    `direction` where the strategy returned one (DB-MTL, MoCo, GradDrop: not a combination of
    this step's gradients)."""
    if direction is None:
        return diagnostics_from_gramian(grads @ grads.T, weights)
    out = diagnostics_from_gramian(grads @ grads.T, torch.zeros_like(weights))
    d = direction.to(grads.dtype)
    d_norm = d.norm()
    norms = out["norms"]
    denom = norms * d_norm
    gd = grads @ d
    out["update_cosine"] = torch.where(denom > 0, gd / denom.clamp_min(1e-30),
                                       torch.zeros_like(gd)).clamp(-1.0, 1.0)
    return out


def diagnostics_from_gramian(gramian: torch.Tensor, weights: torch.Tensor
                             ) -> dict[str, torch.Tensor]:
    """The same three quantities from K = G G^T alone: every one is an inner product of rows.

    norms_i = sqrt(K_ii), cosine_ij = K_ij / (norm_i norm_j), and with d = G^T w:
    d . g_i = (K w)_i and |d| = sqrt(w^T K w). A zero gradient has cosine 0 with everything.
    """
    k = gramian
    w = weights.to(k.dtype).reshape(-1)
    norms = k.diagonal().clamp_min(0).sqrt()
    inv = torch.where(norms > 0, 1.0 / norms.clamp_min(1e-30), torch.zeros_like(norms))
    cosine = (k * inv[:, None] * inv[None, :]).clamp(-1.0, 1.0)
    kw = k @ w
    d_norm = (w @ kw).clamp_min(0).sqrt()
    d_inv = torch.where(d_norm > 0, 1.0 / d_norm.clamp_min(1e-30), torch.zeros_like(d_norm))
    update = (kw * inv * d_inv).clamp(-1.0, 1.0)
    return {"norms": norms, "cosine": cosine, "update_cosine": update}


# --------------------------------------------------------------------------- the routes


def _eye(losses: torch.Tensor) -> torch.Tensor:
    n = losses.shape[0]
    return torch.eye(n, dtype=losses.dtype, device=losses.device)


def _rows(grads: Sequence[torch.Tensor | None], wrt: Sequence[torch.Tensor], n: int
          ) -> torch.Tensor:
    """Batched grads (n, *shape) per tensor -> (n, P); unused tensors give zero columns."""
    cols = [(g if g is not None else t.new_zeros((n, *t.shape))).reshape(n, -1)
            for g, t in zip(grads, wrt)]
    return torch.cat(cols, dim=1)


def _zeros(wrt: Sequence[torch.Tensor], n: int, like: torch.Tensor) -> torch.Tensor:
    return like.new_zeros(n, sum(t.numel() for t in wrt))


def _per_task(losses: torch.Tensor, wrt: Sequence[torch.Tensor]) -> torch.Tensor:
    """One autograd.grad per task, each row written straight into one preallocated T x P buffer:
    at most one task's gradients exist beside it (no list of rows, no stack)."""
    n = int(losses.shape[0])
    out = _zeros(wrt, n, wrt[0])  # the gradients' dtype, as a concatenation of them would have
    for i in range(n):
        if not losses[i].requires_grad:
            continue
        grads = torch.autograd.grad(losses[i], wrt, retain_graph=True, allow_unused=True)
        start = 0
        for g, t in zip(grads, wrt):
            if g is not None:
                out[i, start:start + t.numel()] = g.reshape(-1)
            start += t.numel()
        del grads
    return out


def _batched_or_loop(losses: torch.Tensor, wrt: list[torch.Tensor]) -> torch.Tensor:
    """One vmapped backward with the identity as cotangents, or the per-task loop."""
    grads = _batched(losses, wrt)
    if grads is None:
        return _per_task(losses, wrt)
    return _rows(grads, wrt, int(losses.shape[0]))


def _batched(losses: torch.Tensor, wrt: list[torch.Tensor]
             ) -> tuple[torch.Tensor | None, ...] | None:
    """The per-tensor batched gradients (T, *shape) of one vmapped backward; None where these
    tensors' graph cannot be vmapped (announced once, then remembered)."""
    key = tuple(id(t) for t in wrt)
    known = _no_vmap.get(key)
    if known is not None and known[0]() is wrt[0]:
        return None
    try:
        return torch.autograd.grad(losses, wrt, grad_outputs=_eye(losses), retain_graph=True,
                                   allow_unused=True, is_grads_batched=True)
    except _BATCH_ERRORS as exc:
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else repr(exc)
        note = (f"per-task gradients: the batched (vmapped) backward pass failed "
                f"({type(exc).__name__}: {reason}); using one backward pass per task "
                f"instead (same result, slower)")
        _no_vmap[key] = (weakref.ref(wrt[0]), note)
        warnings.warn(note, GradientFallbackWarning, stacklevel=4)
    return None
