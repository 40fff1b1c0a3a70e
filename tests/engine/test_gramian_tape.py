"""The Gramian from the linear layers' record (gramian_tape): the same K = G G^T and w^T G as the
per-task gradients themselves, without G; refused where it cannot be exact; used by the loop."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import mtl_engine.gramian_tape as gt
import mtl_engine.training as training
from mtl_engine.events import StepsLogged, Warned
from mtl_engine.gradients import backward_along, task_gradients
from mtl_engine.gramian_tape import FactoredGramian, LinearTape, step_gramian
from mtl_engine.training import run

from .conftest import tiny


class Net(nn.Module):
    """Trunk: two linear layers (one without bias), the second called twice (on the rows and on
    a shifted copy), inputs with an extra axis; three heads, the last reading only the first
    layer's output."""

    def __init__(self, d_in: int = 6, width: int = 40) -> None:
        super().__init__()
        self.a = nn.Linear(d_in, width)
        self.b = nn.Linear(width, width, bias=False)
        self.heads = nn.ModuleList([nn.Linear(width, 1), nn.Linear(width, 1), nn.Linear(width, 1)])

    def shared(self) -> list[nn.Parameter]:
        return [self.a.weight, self.b.weight, self.a.bias]  # any order

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        h = torch.tanh(self.a(x))
        r = torch.relu(self.b(h)) + 0.5 * self.b(h.flip(0))
        return [self.heads[0](r).mean((1, 2)), self.heads[1](r * r).mean((1, 2)),
                self.heads[2](h).mean((1, 2))]


def _losses(net: Net, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return torch.stack([((o - t) ** 2).mean() for o, t in zip(net(x), y)])


def _recorded(net: Net, x: torch.Tensor, y: torch.Tensor, tape: LinearTape) -> torch.Tensor:
    tape.armed = True
    losses = _losses(net, x, y)
    tape.armed = False
    return losses


@pytest.mark.parametrize(("rows", "piece"), [(3, gt.PIECE), (3, 1), (12, gt.PIECE)],
                         ids=["A=XX^T", "A=XX^T one task a piece", "block G_W"])
def test_gramian_and_update_equal_the_per_task_gradients(monkeypatch, rows, piece) -> None:
    """K_ts = <g_t, g_s> and w^T G per parameter, against G itself, in float64; both branches
    (X X^T when a layer has fewer rows than inputs, its block dY^T X otherwise), A's product
    in one piece and one task at a time."""
    monkeypatch.setattr(gt, "FACTOR_BELOW", 100.0)  # this small net: factor whatever the sizes
    monkeypatch.setattr(gt, "PIECE", piece)
    torch.manual_seed(0)
    net = Net(d_in=6 if rows == 12 else 40).double()
    x = torch.randn(rows, 2, net.a.in_features, dtype=torch.float64)
    y = torch.randn(3, rows, dtype=torch.float64)
    tape = LinearTape.attach(net, net.shared())
    assert tape is not None
    losses = _recorded(net, x, y, tape)
    factored = tape.gramian(losses)
    assert isinstance(factored, FactoredGramian)
    grads = task_gradients(losses, net.shared())
    torch.testing.assert_close(factored.gramian, grads @ grads.T, rtol=1e-10, atol=1e-12)
    w = torch.tensor([0.3, -1.2, 2.0], dtype=torch.float64)
    torch.testing.assert_close(factored.direction(w), w @ grads, rtol=1e-10, atol=1e-12)
    parts = factored.update(w)
    assert [p.shape for p in parts] == [p.shape for p in net.shared()]
    assert factored.width == grads.shape[1]
    assert not any(calls for calls in tape.calls)  # the record is dropped once used


def test_update_becomes_the_shared_gradient_without_a_copy(monkeypatch) -> None:
    monkeypatch.setattr(gt, "FACTOR_BELOW", 100.0)
    torch.manual_seed(1)
    net = Net(d_in=40).double()
    x = torch.randn(3, 2, 40, dtype=torch.float64)
    y = torch.randn(3, 3, dtype=torch.float64)
    tape = LinearTape.attach(net, net.shared())
    losses = _recorded(net, x, y, tape)
    factored = tape.gramian(losses)
    grads = task_gradients(losses, net.shared())
    w = torch.tensor([1.0, 0.5, 2.0], dtype=torch.float64)
    parts = factored.update(w)
    heads = list(net.heads.parameters())
    backward_along((w * losses).sum(), parts, net.shared(), heads)
    for p, part in zip(net.shared(), parts):
        assert p.grad.data_ptr() == part.data_ptr()  # used as it is, not copied
    expected = w @ grads
    torch.testing.assert_close(torch.cat([p.grad.reshape(-1) for p in net.shared()]), expected)
    # the heads got their ordinary gradient of the weighted total
    ref = torch.autograd.grad((w * _losses(net, x, y)).sum(), heads)
    for p, g in zip(heads, ref):
        torch.testing.assert_close(p.grad, g)


def test_attach_refuses_what_the_identity_does_not_cover() -> None:
    class Sub(nn.Linear):
        pass

    conv = nn.Sequential(nn.Conv1d(2, 3, 3), nn.Flatten(), nn.Linear(3, 2))
    assert LinearTape.attach(conv, list(conv.parameters())) is None  # a kernel
    sub = nn.Sequential(Sub(3, 3))
    assert LinearTape.attach(sub, list(sub.parameters())) is None  # a subclass's own forward
    lin = nn.Linear(3, 3)
    tied = nn.ModuleDict({"a": lin, "b": nn.Sequential(lin)})
    assert LinearTape.attach(tied, list(lin.parameters())) is not None  # one module, twice
    shared_w = nn.Linear(3, 3)
    other = nn.Linear(3, 3)
    other.weight = shared_w.weight  # one parameter in two modules
    both = nn.ModuleList([shared_w, other])
    assert LinearTape.attach(both, [shared_w.weight, shared_w.bias, other.bias]) is None
    half = nn.Linear(3, 3)
    assert LinearTape.attach(half, [half.weight]) is None  # its bias is not among them
    frozen = nn.Linear(3, 3)
    frozen.bias.requires_grad_(False)
    assert LinearTape.attach(frozen, list(frozen.parameters())) is None
    ok = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    tape = LinearTape.attach(ok, list(ok.parameters()))
    assert tape is not None and len(tape.layers) == 2
    tape.detach()
    assert not any(m._forward_hooks for m in ok.modules())


def test_no_hooks_when_the_batch_alone_rules_the_route_out() -> None:
    """64 -> 72 -> 72 (P = 9,936): a batch of 64 records 64 x 144 = 9,216 output values per
    task, more than half of P; a batch of 8 (1,152) does not."""
    net = nn.Sequential(nn.Linear(64, 72), nn.ReLU(), nn.Linear(72, 72))
    shared = list(net.parameters())
    assert LinearTape.attach(net, shared, batch=64) is None
    assert not any(m._forward_hooks for m in net.modules())
    tape = LinearTape.attach(net, shared, batch=8)
    assert tape is not None
    tape.detach()


def test_no_factoring_when_the_record_is_not_smaller_or_was_changed(monkeypatch) -> None:
    torch.manual_seed(2)
    net = Net(d_in=6)
    x, y = torch.randn(64, 2, 6), torch.randn(3, 64)
    tape = LinearTape.attach(net, net.shared())
    # 64 x 2 rows x 80 outputs against P = 1,880: the output gradients are larger than G
    assert tape.gramian(_recorded(net, x, y, tape)) is None
    monkeypatch.setattr(gt, "FACTOR_BELOW", 100.0)
    tape.armed = True
    h = net.a(x)
    h.mul_(2.0)  # in place after the record: the recorded output is no longer the layer's
    tape.armed = False
    losses = (h.sum((1, 2)) ** 2).mean().reshape(1)
    assert tape.gramian(losses) is None
    assert not any(calls for calls in tape.calls)


def test_a_weight_used_outside_its_layer_is_caught_on_the_first_step(monkeypatch) -> None:
    """The identity misses a use of W outside the layer's forward; the first step's comparison
    finds it, switches the tape off with a note, and returns the blocks route's K."""
    monkeypatch.setattr(gt, "FACTOR_BELOW", 100.0)
    torch.manual_seed(3)
    lin = nn.Linear(8, 8)
    heads = [nn.Linear(8, 1), nn.Linear(8, 1)]
    x, y = torch.randn(4, 8), torch.randn(2, 4)
    tape = LinearTape.attach(lin, list(lin.parameters()))
    tape.armed = True
    r = lin(x) + x @ lin.weight  # the second term reads the weight directly
    tape.armed = False
    losses = torch.stack([((h(r).squeeze(-1) - t) ** 2).mean() for h, t in zip(heads, y)])
    gram = step_gramian(tape, losses, list(lin.parameters()))
    grads = task_gradients(losses, list(lin.parameters()))
    torch.testing.assert_close(gram.gramian, grads @ grads.T, rtol=1e-4, atol=1e-6)
    assert tape.off and "disagreed" in tape.note
    assert not lin._forward_hooks


def _wide(**changes):
    base = {"trunk": [{"type": "linear", "out_features": 96}, {"type": "relu"},
                      {"type": "linear", "out_features": 96}, {"type": "relu"}],
            "optimizer": {"name": "sgd", "lr": 0.05},
            "training": {"epochs": 1, "batch_size": 8, "seed": 3, "device": "cpu",
                         "log_every": 2, "max_steps_per_epoch": 12}}
    return tiny(**{**base, **changes})


@pytest.mark.parametrize("method", ["upgrad", "mgda", "nash_mtl"])
def test_loop_takes_the_factored_route_with_the_same_numbers(monkeypatch, method) -> None:
    used = []
    original = FactoredGramian.__init__

    def counting(self, *args, **kwargs):
        used.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(FactoredGramian, "__init__", counting)
    config = _wide(strategy={"name": method})
    factored = [e.losses for e in run(config) if isinstance(e, StepsLogged)]
    assert len(used) == 12  # every step (batch 8 x 192 outputs < half of P = 15,648)
    monkeypatch.setattr(training, "FACTORED_GRAMIAN", False)
    used.clear()
    blocks = [e.losses for e in run(config) if isinstance(e, StepsLogged)]
    assert not used and len(factored) == len(blocks) > 0
    for a, b in zip(factored, blocks):
        for task in a:
            assert a[task] == pytest.approx(b[task], rel=1e-4, abs=1e-6)
    assert factored[0] != factored[-1]


def test_loop_leaves_no_hooks_and_warns_nothing() -> None:
    config = _wide(strategy={"name": "upgrad"})
    loop = training._Loop(config, training.RunControl())
    events = list(loop.events())
    assert not [e for e in events if isinstance(e, Warned)]
    assert loop.tape is None  # detached when the run finished
    assert not any(m._forward_hooks for m in loop.setup.model.modules())


class EmbedNet(nn.Module):
    """Two id columns through tables (one with a padding id, ids repeated within the batch),
    concatenated with a dense feature, then a linear layer; two heads."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Embedding(7, 3, padding_idx=0)
        self.b = nn.Embedding(5, 2)
        self.lin = nn.Linear(6, 8)
        self.heads = nn.ModuleList([nn.Linear(8, 1), nn.Linear(8, 1)])

    def forward(self, ids: torch.Tensor, dense: torch.Tensor) -> list[torch.Tensor]:
        h = torch.tanh(self.lin(torch.cat([self.a(ids[:, 0]), self.b(ids[:, 1]), dense], 1)))
        return [head(h).squeeze(-1) for head in self.heads]


def test_embedding_tables_factor_exactly_with_repeated_and_padding_ids(monkeypatch) -> None:
    monkeypatch.setattr(gt, "FACTOR_BELOW", 100.0)
    torch.manual_seed(5)
    net = EmbedNet().double()
    ids = torch.tensor([[0, 1], [3, 1], [3, 4], [0, 2], [6, 1]])  # id 0 is a's padding
    dense = torch.randn(5, 1, dtype=torch.float64)
    y = torch.randn(2, 5, dtype=torch.float64)
    shared = [net.a.weight, net.lin.weight, net.b.weight, net.lin.bias]
    tape = LinearTape.attach(net, shared)
    assert tape is not None
    tape.armed = True
    losses = torch.stack([((o - t) ** 2).mean() * s
                          for o, t, s in zip(net(ids, dense), y, (1.0, 30.0))])
    tape.armed = False
    factored = tape.gramian(losses)
    grads = task_gradients(losses, shared)
    torch.testing.assert_close(factored.gramian, grads @ grads.T, rtol=1e-10, atol=1e-12)
    w = torch.tensor([0.7, -0.2], dtype=torch.float64)
    torch.testing.assert_close(factored.direction(w), w @ grads, rtol=1e-10, atol=1e-12)
    assert factored.update(w)[0][0].abs().max() == 0  # the padding row gets nothing
    rewriting = nn.Embedding(4, 2, max_norm=1.0)  # renormalises the table in its forward
    assert LinearTape.attach(rewriting, list(rewriting.parameters())) is None
    sparse = nn.Embedding(4, 2, sparse=True)
    assert LinearTape.attach(sparse, list(sparse.parameters())) is None


def test_a_categorical_preset_takes_the_factored_route_with_the_same_numbers(monkeypatch) -> None:
    """ctr_esmm_mmoe's id columns go through embedding tables, its experts are linear."""
    from mtl_engine.config import from_dict
    from mtl_engine.presets import load

    d = load("ctr_esmm_mmoe").to_dict()
    d["strategy"] = {"name": "upgrad", "params": {}, "grad_mode": "shared"}
    d["training"].update(epochs=1, max_steps_per_epoch=6, batch_size=8, log_every=3,
                         diagnostics_every=0)
    config = from_dict(d)

    used = []
    original = FactoredGramian.__init__

    def counting(self, *args, **kwargs):
        used.append(any(isinstance(m, nn.Embedding) for m in args[0].layers))
        original(self, *args, **kwargs)

    monkeypatch.setattr(FactoredGramian, "__init__", counting)
    factored = [e.losses for e in run(config) if isinstance(e, StepsLogged)]
    assert used == [True] * 6
    monkeypatch.setattr(training, "FACTORED_GRAMIAN", False)
    blocks = [e.losses for e in run(config) if isinstance(e, StepsLogged)]
    for a, b in zip(factored, blocks, strict=True):
        for task in a:
            assert a[task] == pytest.approx(b[task], rel=1e-4, abs=1e-6)
