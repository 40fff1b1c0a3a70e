"""GradDrop, gradient sign dropout: Chen, Ngiam, Huang, Luong, Kretzschmar, Chai & Anguelov,
"Just Pick a Sign: Optimizing Deep Multitask Models with Gradient Sign Dropout", NeurIPS 2020
(section 3, Algorithm 1).

At the shared representation A (grad_mode "representation"), the per-task gradients g_i = dL_i /
dA are combined element by element, keeping one sign per element. With the batch dimension first,
each task's sign signal is summed over the batch after multiplying by the sign of the input,
    S_i = sum_batch sign(A) * g_i,
the positive-sign purity of every element is
    P = 1/2 (1 + sum_i S_i / sum_i |S_i|)        (P = 1/2 where every S_i is 0),
and with one draw U ~ Uniform(0, 1) per element the masks keep the positive signals where P > U,
the negative ones elsewhere,
    M_i = I[P > U] I[S_i > 0] + I[P < U] I[S_i < 0],   M_i <- leak + (1 - leak) M_i,
broadcast over the batch; the update on A is d = sum_i M_i * g_i, back-propagated from A into the
shared parameters as the strategy's update direction. The heads keep their own losses' gradients:
total = sum_i L_i, weights 1 (what the GUI plots; GradDrop has no task weights of its own).
A caller that gives no representation (gradients on parameters, the hand-made ones of the tests)
gets the same rule with one sample of positive input, S_i = g_i (torchjd's GradDrop aggregator).

`leak` is the paper's leak l_i, one value for every task (0: pure GradDrop, the paper's default).
U comes from a generator of the strategy's own, seeded by `seed` (same seed, same draws; the
training's random stream is untouched). The draws go by element, not by task, so permuting the
tasks permutes nothing but the rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..registry import STRATEGIES, param
from ._gramian import PrivateRng
from .base import GRADS, Combined, StepInfo, Strategy


def sign_signal(grads: torch.Tensor, representation: torch.Tensor | None, use_sign: bool
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """(per-sample gradients T x B x E, batch-summed sign signals T x E) for flattened `grads`."""
    t = grads.shape[0]
    if representation is None:
        per = grads.reshape(t, 1, -1)
        return per, per.sum(1)
    b = representation.shape[0]
    per = grads.reshape(t, b, -1)
    if use_sign:
        return per, (per * torch.sign(representation.reshape(1, b, -1).to(per.dtype))).sum(1)
    return per, per.sum(1)


@STRATEGIES.register(
    "graddrop",
    "GradDrop: per element of the shared representation, keep one gradient sign, drawn by purity",
    paper="Chen, Ngiam, Huang, Luong, Kretzschmar, Chai & Anguelov, Just Pick a Sign: Optimizing "
          "Deep Multitask Models with Gradient Sign Dropout, NeurIPS 2020",
    family="gradient",
    grad_modes=("representation",),
)
class GradDrop(Strategy):
    requires = frozenset({GRADS})

    @dataclass(frozen=True)
    class Params:
        leak: float = param(0.0, "the leak l: each task keeps l of its gradient whatever the "
                            "sign drawn (0: pure GradDrop)", low=0.0, high=1.0)
        use_sign: bool = param(True, "multiply by the sign of the representation before "
                               "summing over the batch (the paper's batch rule)")
        seed: int = param(0, "seed of the uniform draws (same seed, same draws)", low=0)

    def setup(self) -> None:
        self._rng = PrivateRng(self.p.seed)

    def combine(self, losses: torch.Tensor, info: StepInfo) -> Combined:
        if info.grads is None:
            raise ValueError("graddrop needs per-task gradients (GRADS) but the step carries none")
        per, signal = sign_signal(info.grads.detach(), info.representation, self.p.use_sign)
        total_abs = signal.abs().sum(0)
        purity = torch.where(total_abs > 0, 0.5 * (1.0 + signal.sum(0) / total_abs.clamp_min(
            torch.finfo(signal.dtype).tiny)), torch.full_like(total_abs, 0.5))
        shape = tuple(purity.shape)
        u = self._rng.run(lambda: torch.rand(shape, dtype=torch.float64))
        u = u.to(device=purity.device, dtype=purity.dtype)
        keep = ((purity > u) & (signal > 0)) | ((purity < u) & (signal < 0))
        mask = self.p.leak + (1.0 - self.p.leak) * keep.to(per.dtype)
        direction = (per * mask[:, None, :]).sum(0).reshape(-1)
        return Combined(total=losses.sum(), weights=torch.ones_like(losses.detach()),
                        direction=direction)
