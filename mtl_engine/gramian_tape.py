"""The Gramian K = G G^T of the per-task gradients without G, for shared parameters that all
belong to linear layers and embedding tables: what a method whose weights depend on K only
(input GRAMIAN) needs.

For a linear layer y = x W^T + b applied to N rows (X: N x in), the gradient of task t's loss
with respect to W is dY_t^T X, where dY_t (N x out) is that loss's gradient with respect to the
layer's output y, and with respect to b it is dY_t^T 1. So, with A = X X^T (N x N),

    <g_t^W, g_s^W> = sum_{n,m} A_nm (dY_t dY_s^T)_nm        <g_t^b, g_s^b> = (1^T dY_t)(dY_s^T 1)

and the update sum_t w_t g_t is (sum_t w_t dY_t)^T X on W and its column sums on b. This is the
per-example-gradient identity (Goodfellow, "Efficient per-example gradient computations", 2015)
applied across tasks instead of examples, as torchjd's autogram engine does (Quinton & Rey,
"Jacobian Descent for Multi-Objective Optimization", 2024). One vmapped backward pass with the
T x T identity as cotangents gives every dY_t of every layer (T x N x out each) and no parameter
gradient at all; the T x P matrix G never exists. Where a layer has more rows than inputs
(N > in), its block G_W = dY^T X (T x out x in) is smaller than A's product and is formed
instead, for that layer only, and dropped before the next.

An embedding table E (nn.Embedding, as the categorical inputs and the token layers use) is the
same identity with one-hot rows: task t's gradient on E is the sum of dY_t's rows into the rows
of the ids read, so with the U distinct ids of the step, its U x dim block (dY_t's rows added up
per id; zero for the padding id, as torch's own backward) is all of it that is not zero:
K gets <block_t, block_s>, and the update is the weighted blocks added into a zero table. A
table's G is vocab x dim per task; its block is at most the step's rows.

`LinearTape.attach(model, shared)` hooks the layers that own the shared parameters (None unless
every shared parameter belongs to exactly one `nn.Linear` or `nn.Embedding`). While armed, the
hooks record each call's input and output. `tape.gramian(losses)` then returns a
`FactoredGramian` (K, and w -> w^T G flattened as gradients.task_gradients' columns), or None
when the route does not apply to this step: the recorded dY_t would not be smaller than G
(`FACTOR_BELOW`), a recorded tensor was modified in place afterwards, or the vmapped pass failed.
The caller then takes gradients.task_gramian's route, which gives the same K.

A parameter used outside its layer's forward (a tied weight read directly, say) would be missing
from K. `step_gramian`, what the training loop calls, therefore checks the first factored step
of a run against the blocks route (K and w^T G, to AGREE_RTOL) and switches the tape off for the
run if they differ, leaving a note for the user.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .gradients import TaskGramian, task_gramian

# Factor when the recorded output gradients (T x sum of N x out over the layers) take at most
# this share of G's T x P values: then the peak is a fraction of G. Above it (a small trunk on a
# large batch), the output gradients are as large as G and the blocks route is as good.
FACTOR_BELOW = 0.5
# A = X X^T times the output gradients is formed this many values at a time (a few tasks per
# piece), so that product never needs a second copy of a layer's output gradients.
PIECE = 2 ** 17
# The first factored step of a run is compared with the blocks route to this tolerance,
# relative to the largest entry. In float32 the blocks route itself is off by about 1e-4 on a
# wide layer (measured against float64: the vmapped weight gradients sum the batch in float32;
# the factored K was off by 4e-7), so 1e-4 would refuse correct records.
AGREE_RTOL = 1e-3


class LinearTape:
    """Forward hooks on the linear layers (and embedding tables) that own every shared
    parameter."""

    def __init__(self, layers: list[nn.Module], order: list[tuple[int, str]]) -> None:
        self.layers = layers
        self.order = order  # per shared parameter: (layer index, "weight" or "bias")
        self.armed = False
        self.calls: list[list[tuple[torch.Tensor, torch.Tensor, int, int]]] = [
            [] for _ in layers]
        self.checked = False  # the first factored step was compared with the blocks route
        self.note: str | None = None  # why it is off (it disagreed with the blocks route)
        self.width = sum(layers[i].get_parameter(name).numel() for i, name in order)
        self.handles = [m.register_forward_hook(self._hook(i)) for i, m in enumerate(layers)]

    @classmethod
    def attach(cls, model: nn.Module, shared: Sequence[torch.Tensor], batch: int | None = None
               ) -> LinearTape | None:
        """The tape for `model`, or None unless every shared parameter is the weight or bias of
        exactly one nn.Linear or the table of one nn.Embedding (of exactly those classes: a
        subclass may compute something else; an embedding without max_norm, which rewrites the
        table in its forward, and with dense gradients) inside `model`, every one is trained,
        and none is listed twice. A layer with a bias among the shared parameters has its
        weight there too, and the other way round.

        With `batch` (rows per step), also None when even one call of each layer on that many
        rows would record more than FACTOR_BELOW of G: the route could never be taken, and the
        hooks would only cost time (about 35 us a step on a small MLP)."""
        owner: dict[int, tuple[nn.Module, str]] = {}
        seen_params: dict[int, int] = {}
        for module in model.modules():
            for name, p in module.named_parameters(recurse=False):
                seen_params[id(p)] = seen_params.get(id(p), 0) + 1
                if _factorable(module):
                    owner[id(p)] = (module, name)
        if not shared or len({id(p) for p in shared}) != len(shared) \
                or not all(p.requires_grad for p in shared):
            return None
        layers: list[nn.Module] = []
        index: dict[int, int] = {}
        order: list[tuple[int, str]] = []
        for p in shared:
            if id(p) not in owner or seen_params.get(id(p)) != 1:
                return None
            module, name = owner[id(p)]
            if id(module) not in index:
                index[id(module)] = len(layers)
                layers.append(module)
            order.append((index[id(module)], name))
        for i, module in enumerate(layers):
            if {n for j, n in order if j == i} != {n for n, _ in module.named_parameters()}:
                return None
        width = sum(p.numel() for p in shared)
        if batch is not None and batch * sum(_out(m) for m in layers) > FACTOR_BELOW * width:
            return None
        return cls(layers, order)

    @property
    def off(self) -> bool:
        """It disagreed with the blocks route: the blocks for the rest of the run."""
        return self.note is not None

    def detach(self) -> None:
        for h in self.handles:
            h.remove()
        self.handles = []
        self.clear()

    def clear(self) -> None:
        for calls in self.calls:
            calls.clear()

    def _hook(self, i: int):
        def record(module: nn.Module, args: tuple, out: torch.Tensor) -> None:
            if self.armed and torch.is_grad_enabled() and args:
                x = args[0]
                self.calls[i].append((x, out, x._version, out._version))
        return record

    def gramian(self, losses: torch.Tensor) -> FactoredGramian | None:
        """K and the update's means from what the armed forward recorded, or None (see the
        module's docstring); the record is cleared either way."""
        calls = [list(c) for c in self.calls]
        self.clear()
        n_tasks = int(losses.shape[0])
        if not losses.requires_grad or any(not c for c in calls):
            return None
        for c in calls:
            for x, y, vx, vy in c:
                if x._version != vx or y._version != vy or not y.requires_grad:
                    return None
        rows = sum(y.numel() for c in calls for _, y, _, _ in c)
        if rows > FACTOR_BELOW * self.width:
            return None
        outs = [y for c in calls for _, y, _, _ in c]
        eye = torch.eye(n_tasks, dtype=losses.dtype, device=losses.device)
        try:
            d_outs = torch.autograd.grad(losses, outs, grad_outputs=eye, retain_graph=True,
                                         allow_unused=True, is_grads_batched=True)
        except (RuntimeError, NotImplementedError):
            return None
        del outs
        per_layer: list[tuple[torch.Tensor, torch.Tensor]] = []
        k = 0
        for i, c in enumerate(calls):
            m = self.layers[i]
            xs, dys = [], []
            for x, y, _, _ in c:
                dy = d_outs[k]
                k += 1
                xs.append(x.detach().reshape(-1, m.in_features) if isinstance(m, nn.Linear)
                          else x.reshape(-1))
                dys.append(y.new_zeros((n_tasks, *y.shape)) if dy is None else dy)
            x_all = xs[0] if len(xs) == 1 else torch.cat(xs)
            dys = [d.reshape(n_tasks, -1, _out(m)) for d in dys]  # views
            dy_all = dys[0] if len(dys) == 1 else torch.cat(dys, dim=1)
            per_layer.append((x_all, dy_all))
        return FactoredGramian(self, per_layer, n_tasks, self.width)


def _factorable(module: nn.Module) -> bool:
    if type(module) is nn.Linear:
        return True
    return type(module) is nn.Embedding and module.max_norm is None and not module.sparse \
        and not module.scale_grad_by_freq


def _out(module: nn.Module) -> int:
    return module.out_features if isinstance(module, nn.Linear) else module.embedding_dim


def _table_rows(ids: torch.Tensor, dy: torch.Tensor, padding: int | None
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """The distinct ids read and dY's rows added up per id (T x U x dim), the padding id's zero."""
    uniq, where = torch.unique(ids, return_inverse=True)
    block = dy.new_zeros((dy.shape[0], uniq.numel(), dy.shape[2])).index_add_(1, where, dy)
    if padding is not None:
        block[:, uniq == padding] = 0
    return uniq, block


def step_gramian(tape: LinearTape | None, losses: torch.Tensor, shared: Sequence[torch.Tensor]
                 ) -> TaskGramian | FactoredGramian:
    """K and w -> w^T G for one GRAMIAN-only step: from the tape's record where it has one (the
    first time checked against gradients.task_gramian's blocks; on a difference the tape is
    switched off and `tape.note` says so), else the blocks."""
    factored = tape.gramian(losses) if tape is not None and not tape.off else None
    if factored is None or tape is None:
        return task_gramian(losses, shared)
    if tape.checked:
        return factored
    tape.checked = True
    blocks = task_gramian(losses, shared)
    probe = torch.linspace(1.0, 2.0, int(losses.shape[0]), device=losses.device)
    if _close(factored.gramian, blocks.gramian) \
            and _close(factored.direction(probe), blocks.direction(probe)):
        return factored
    tape.detach()
    tape.note = ("Gramian: the linear layers' factored route disagreed with the per-tensor "
                 "blocks on the first step (a shared weight used outside its layer?); using the "
                 "blocks for this run (same numbers, more memory)")
    return blocks


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    if not b.numel():
        return a.numel() == 0
    scale = max(float(b.abs().max()), 1e-30)
    return a.shape == b.shape and bool((a - b).abs().max() <= AGREE_RTOL * scale)


class FactoredGramian:
    """K (T x T) from the layers' inputs and output gradients, and w -> w^T G; the same
    interface as gradients.TaskGramian (gramian, width, update, direction)."""

    __slots__ = ("gramian", "layers", "tables", "tape", "width")

    def __init__(self, tape: LinearTape, layers: list[tuple[torch.Tensor, torch.Tensor]],
                 n_tasks: int, width: int) -> None:
        self.tape, self.layers, self.width = tape, layers, width
        kk = layers[0][1].new_zeros(n_tasks, n_tasks)
        self.tables: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
        for i, ((x, dy), module) in enumerate(zip(layers, tape.layers)):
            if isinstance(module, nn.Embedding):
                uniq, block = _table_rows(x, dy, module.padding_idx)
                flat = block.reshape(n_tasks, -1)
                kk.addmm_(flat, flat.T)
                self.tables[i] = (uniq, block)
                continue
            rows = x.shape[0]
            flat = dy.reshape(n_tasks, -1)
            if rows <= x.shape[1]:  # A = X X^T is the smaller: K_ts = <A dY_t, dY_s>
                a = x @ x.T
                step = max(1, PIECE // max(1, flat.shape[1]))
                for first in range(0, n_tasks, step):
                    z = torch.matmul(a, dy[first:first + step])  # (this piece's tasks, N, out)
                    kk[first:first + step].addmm_(z.reshape(z.shape[0], -1), flat.T)
                    del z
                del a
            else:  # this layer's block G_W = dY^T X, then dropped
                g = torch.matmul(dy.transpose(1, 2), x).reshape(n_tasks, -1)
                kk.addmm_(g, g.T)
                del g
            if module.bias is not None:
                cols = dy.sum(1)
                kk.addmm_(cols, cols.T)
        self.gramian = (kk + kk.T) / 2

    def update(self, weights: torch.Tensor) -> list[torch.Tensor]:
        """w^T G per shared parameter (in the order given to LinearTape.attach, each shaped as
        its parameter), new tensors: (sum_t w_t dY_t)^T X for a weight, its column sums for a
        bias, the weighted per-id rows in a zero table for an embedding."""
        w = weights.to(self.gramian.dtype)
        out = []
        for i, name in self.tape.order:
            module = self.tape.layers[i]
            if i in self.tables:  # the weighted per-id rows, into a zero table
                uniq, block = self.tables[i]
                table = block.new_zeros(module.weight.shape)
                out.append(table.index_copy_(0, uniq, torch.tensordot(w, block, dims=1)))
                continue
            combined = torch.tensordot(w, self.layers[i][1], dims=1)  # (N, out)
            out.append(combined.T @ self.layers[i][0] if name == "weight"
                       else combined.sum(0))
        return out

    def direction(self, weights: torch.Tensor) -> torch.Tensor:
        """w^T G (P,), flattened as gradients.task_gradients' columns."""
        return torch.cat([u.reshape(-1) for u in self.update(weights)])
