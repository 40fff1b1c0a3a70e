"""The one training loop: ``run(config, control) -> iterator of events``, top to bottom.

Tensors become Python numbers in one place only (`_flush`), every `log_every` steps: per-step
values are written into a small on-device buffer and copied to the host in one transfer. A NaN or
infinite loss is found at that point; the model is then rolled back to the weights of a step whose
losses were checked finite (see _StepBuffer), and the run ends with RunFailed naming the task, the
step and the step the weights are from.
"""

from __future__ import annotations

import math
import time
import traceback
from collections.abc import Generator, Iterator
from dataclasses import replace
from pathlib import Path

import torch

from .config import ExperimentConfig
from .control import RunControl
from .errors import DivergedError, FileWriteError
from .events import (
    EpochEnded,
    Event,
    GradientsMeasured,
    RunFailed,
    RunFinished,
    RunStarted,
    RunStatus,
    StepsLogged,
    Warned,
)
from .gradients import (
    TaskGramian,
    backward_along,
    diagnostics,
    fallback_notes,
    task_gradients,
)
from .gramian_tape import FactoredGramian, LinearTape, step_gramian
from .losses import LossFn, prediction
from .multilabel import multilabel_metrics
from .optim import lr_factor
from .rows import Inputs, float_dtype, n_rows, part, take
from .selection import Rank, epoch_rank
from .session_setup import Setup, Split, metric_fns, prepare, raw_units
from .strategies import driver
from .strategies.base import GRADS, GRAMIAN, EpochStats
from .task_losses import BatchLosses

# When per-task gradients on the shared parameters were computed this step, reuse them for the
# update instead of back-propagating through the trunk again (see _Loop._backward_along).
REUSE_TASK_GRADIENTS = True
# Each task's loss through torch's fused kernel on a batch where none of its targets is missing
# (task_losses.BatchLosses; the same value to round-off).
FUSED_LOSSES = True
# A strategy whose weights never change (these, by registry name, of exactly the registered
# class) is asked for them at the first step only; later steps weight the losses with them
# directly, skipping the per-step strategy calls (wants, combine, after_step are no-ops for it).
CONSTANT_WEIGHT_STRATEGIES: tuple[str, ...] = ("equal", "static")
# For a strategy that needs only the Gramian (input GRAMIAN, grad_mode shared), when every shared
# parameter belongs to a linear layer or an embedding table: K from the layers' inputs and output
# gradients, the T x P matrix G never formed (gramian_tape; the same K as gradients.task_gramian,
# checked on the first step of each run).
FACTORED_GRAMIAN = True


def run(
    config: ExperimentConfig, control: RunControl | None = None, out_dir: str | Path | None = None,
    *, overwrite: bool = False, key: str = "",
) -> Iterator[Event]:
    """Train `config`, yielding events. Never raises for a failed run: it yields RunFailed.

    With `out_dir`, the run folder (config, events, CSV curves, model bundle) is written as it goes
    (see runs.RunRecorder): a folder that holds another run, or that another live run is writing,
    is refused (a RunFailed before any RunStarted) unless `overwrite` replaces a finished one.
    Each event is on disk before it is yielded. A folder that cannot be written ends the run with
    a RunFailed naming the path; one left unfinished is marked incomplete.

    `key` (a study's run key) is stamped on every event, in the folder's events.jsonl too.
    """
    loop = _Loop(config, control or RunControl())
    if out_dir is None:
        yield from _stamped(loop.events(), key)
        return
    from .runs import RunRecorder

    try:
        recorder = RunRecorder(out_dir, overwrite=overwrite)
    except FileWriteError as exc:
        yield RunFailed(type(exc).__name__, str(exc), "", 0, 0, run=key)
        return
    events = _stamped(loop.events(), key)
    try:
        for event in events:
            if isinstance(event, (RunFinished, RunFailed)):
                # the model and the closing line are written before the run is reported over
                event = recorder.finish(event, loop.setup)
            else:
                recorder.record(event)
                if isinstance(event, RunStarted) and loop.setup is not None:
                    recorder.write_split(loop.setup.parts)  # split.json: the rows of each part
            yield event
    except FileWriteError as exc:  # the folder cannot be written: stop training, say where
        events.close()
        yield recorder.abandon(RunFailed(type(exc).__name__, str(exc), "", loop.step,
                                         loop.epoch, run=key))
    finally:  # also on an abort (a second Ctrl-C) or a consumer that stops reading
        recorder.close()


def _stamped(events: Generator[Event, None, None], key: str) -> Generator[Event, None, None]:
    return _stamp(events, key) if key else events


def _stamp(events: Generator[Event, None, None], key: str) -> Generator[Event, None, None]:
    try:
        for event in events:
            yield replace(event, run=key)
    finally:  # closing this closes the run (a stop by the consumer, an abort)
        events.close()


class _Loop:
    def __init__(self, config: ExperimentConfig, control: RunControl) -> None:
        self.config = config
        self.control = control
        self.setup: Setup | None = None
        self.step = 0
        self.epoch = 0
        self.last_metrics: dict[str, dict[str, float]] = {}
        self.notes_seen = set(fallback_notes())
        self.tape: LinearTape | None = None  # the linear layers' record (FACTORED_GRAMIAN)
        self.route_notes: list[str] = []
        # selection (training.select, training.patience; the rule is selection.py's)
        self.epochs_done = 0
        self.best_rank: Rank | None = None
        self.best_epoch: int | None = None
        self.best_metrics: dict[str, dict[str, float]] = {}
        self.best_state: tuple[dict[str, torch.Tensor], list[torch.Tensor]] | None = None
        self.since_best = 0  # epochs since the best one

    def events(self) -> Iterator[Event]:
        t0 = time.perf_counter()
        try:
            self.setup = prepare(self.config)
            self._fast_path_setup()
            yield self._started()
            self.buffer = _StepBuffer(self, t0)
            for epoch in range(self.config.training.epochs):
                self.epoch = epoch
                stopped = yield from self._epoch(t0)
                if stopped:
                    yield self._finished(RunStatus.STOPPED, t0)
                    return
                early = self._early_stop(epoch)
                if early is not None:  # a completed run: it ends as asked, only sooner
                    yield early
                    break
            yield self._finished(RunStatus.COMPLETED, t0)
        except DivergedError as exc:
            yield RunFailed("DivergedError", str(exc), "", exc.step, self.epoch, exc.task,
                            exc.restored_step)
        except Exception as exc:  # the run's boundary: any failure becomes an event
            yield RunFailed(type(exc).__name__, str(exc) or type(exc).__name__,
                            traceback.format_exc(), self.step, self.epoch)
        finally:  # a failed or closed run too
            self._drop_tape()

    # ------------------------------------------------------------------ events
    def _started(self) -> RunStarted:
        setup = self.setup
        assert setup is not None
        train_cfg = self.config.training
        per_epoch = math.ceil(len(setup.train) / train_cfg.batch_size)
        if train_cfg.max_steps_per_epoch:
            per_epoch = min(per_epoch, train_cfg.max_steps_per_epoch)
        summary = setup.model.summary
        counts = {"shared": summary.shared_params, **summary.task_params,
                  "strategy": sum(p.numel() for p in setup.strategy.parameters())}
        counts["total"] = summary.total_params + counts["strategy"]
        self.steps_per_epoch = per_epoch
        return RunStarted(
            config=self.config.to_dict(), tasks=setup.infos, param_counts=counts,
            device=str(setup.device), steps_per_epoch=per_epoch,
            total_steps=per_epoch * train_cfg.epochs, train_size=len(setup.train),
            val_size=len(setup.val), layers=tuple(_layer_dict(li) for li in summary.layers),
            started_at=time.time(), test_size=len(setup.test),
        )

    def _finished(self, status: str, t0: float) -> RunFinished:
        """The closing event; the model holds the selected epoch's weights from here on (the
        bundle saves them), and the test rows are measured with them, once."""
        self._drop_tape()  # training is over: no hooks left on the model it hands on
        selected, metrics = self._select()
        setup = self.setup
        test_loss, test_metrics = (self._evaluate(setup.test) if setup is not None
                                   and len(setup.test) else ({}, {}))
        return RunFinished(status, self.step, self.epoch + (status == RunStatus.COMPLETED),
                           time.perf_counter() - t0, metrics, selected_epoch=selected,
                           test_loss=test_loss, test_metrics=test_metrics)

    # ------------------------------------------------------------------ selection
    def _track(self, score: float | None, val_loss: dict[str, float],
               metrics: dict[str, dict[str, float]]) -> None:
        """After each validation: is this the best epoch so far (selection.epoch_rank)?"""
        self.epochs_done = self.epoch + 1
        rank = epoch_rank(score, val_loss)
        if self.best_rank is not None and not rank > self.best_rank:
            self.since_best += 1
            return
        self.best_rank, self.best_epoch, self.best_metrics = rank, self.epoch + 1, metrics
        self.since_best = 0
        if self.config.training.select == "best":  # a CPU copy: device memory stays the run's
            setup = self.setup
            assert setup is not None
            self.best_state = (
                {k: v.detach().to("cpu", copy=True) for k, v in setup.model.state_dict().items()},
                [p.detach().to("cpu", copy=True) for p in setup.strategy.parameters()])

    def _early_stop(self, epoch: int) -> Warned | None:
        """The note that ends the run after `epoch` (0-based) when training.patience epochs
        passed without a better validation score; None to go on (or at the last epoch)."""
        patience = self.config.training.patience
        if patience is None or self.since_best < patience \
                or epoch + 1 >= self.config.training.epochs:
            return None
        return Warned(self.step, f"stopped early at epoch {epoch + 1}: no better validation "
                                 f"score for {patience} epoch{'s' * (patience > 1)} (best "
                                 f"epoch {self.best_epoch})")

    def _select(self) -> tuple[int | None, dict[str, dict[str, float]]]:
        """The selected epoch and its validation metrics; with `select: best`, its weights go
        back into the model (and the strategy's own parameters)."""
        if self.config.training.select != "best" or self.best_state is None:
            return (self.epochs_done or None), self.last_metrics
        setup = self.setup
        assert setup is not None
        weights, strategy_params = self.best_state
        setup.model.load_state_dict(weights)
        with torch.no_grad():
            for p, v in zip(setup.strategy.parameters(), strategy_params):
                p.copy_(v)
        return self.best_epoch, self.best_metrics

    # ------------------------------------------------------------------ one epoch
    def _fast_path_setup(self) -> None:
        """What every step reuses: the batch targets and loss forms, the task names, and whether
        the strategy's weights are constant (then known after the first step)."""
        from .registry import STRATEGIES

        setup = self.setup
        assert setup is not None
        self.batches = BatchLosses(self.config, setup.tasks, setup.train.y, setup.loss_fns,
                                   float_dtype(setup.train.x), fused=FUSED_LOSSES)
        self.names = tuple(t.name for t in setup.tasks)
        kind = type(setup.strategy)
        self.constant_ok = any(kind is STRATEGIES.get(n).obj for n in CONSTANT_WEIGHT_STRATEGIES)
        self.constant: torch.Tensor | None = None  # the weights, once the strategy gave them
        self.constant_ones = False
        if FACTORED_GRAMIAN and GRAMIAN in setup.strategy.requires \
                and self.config.strategy.grad_mode != "representation":
            self.tape = LinearTape.attach(setup.model, setup.shared_params,
                                          self.config.training.batch_size)

    def _epoch(self, t0: float) -> Iterator[Event]:
        setup = self.setup
        assert setup is not None
        cfg = self.config
        train_cfg = cfg.training
        factor = lr_factor(cfg.optimizer.schedule.name, self.epoch, train_cfg.epochs,
                           cfg.optimizer.schedule.params)
        for group, base in zip(setup.optimizer.param_groups, setup.base_lrs):
            group["lr"] = base * factor
        if not setup.model.training:  # a walk over every module; _evaluate leaves it training
            setup.model.train()
        gen = torch.Generator().manual_seed(train_cfg.seed * 100_003 + self.epoch)
        order = torch.randperm(len(setup.train), generator=gen)
        perm = order.to(setup.device)
        forms = self.batches.forms(order, train_cfg.batch_size, self.steps_per_epoch)
        t_epoch = time.perf_counter()
        buf = self.buffer
        epoch_sum = torch.zeros(len(setup.tasks), device=setup.device)
        n_steps = 0
        for batch in range(self.steps_per_epoch):
            self.control.wait_while_paused()
            if self.control.stop_requested:
                yield from buf.flush()
                return True
            idx = perm[batch * train_cfg.batch_size:(batch + 1) * train_cfg.batch_size]
            losses, weights, total, extras, diag = self._step(idx, forms[batch])
            epoch_sum += losses
            n_steps += 1
            buf.add(losses, weights, total, extras, len(idx))
            self.step += 1
            if diag is not None:
                yield self._gradients_event(diag)
            if buf.full:
                yield from buf.flush()
                yield from self._new_warnings()
        yield from buf.flush()
        yield from self._new_warnings()
        yield self._validate(epoch_sum / max(n_steps, 1), time.perf_counter() - t_epoch,
                             n_steps * train_cfg.batch_size)
        return False

    def _step(self, idx: torch.Tensor, fns: tuple[LossFn, ...]):
        """One training step on rows `idx` with per-task loss functions `fns`: the losses (T,),
        plotted weights (T,), total (all detached), the extras (penalties, aux) and the gradient
        diagnostics if measured this step."""
        setup = self.setup
        assert setup is not None
        cfg = self.config
        model, strategy = setup.model, setup.strategy
        xb = take(setup.train.x, idx)
        yb = self.batches.targets(idx)
        every = cfg.training.diagnostics_every
        diag_now = every > 0 and self.step % every == 0
        if self.constant is not None and not diag_now:
            return self._constant_step(xb, yb, fns)
        wants = driver.wanted(strategy, self.step)
        # GRAMIAN alone (grad_mode shared, no diagnostics this step): K and w^T G block by block,
        # the T x P matrix G never formed (gramian_tape.step_gramian, gradients.task_gramian)
        gram_only = GRAMIAN in wants and not (GRADS in wants or diag_now) \
            and cfg.strategy.grad_mode != "representation"
        need_grads = GRADS in wants or diag_now or (GRAMIAN in wants and not gram_only)
        use_rep = need_grads and cfg.strategy.grad_mode == "representation"
        tape = self.tape if gram_only else None
        if use_rep:
            outputs, rep = model.forward_with_representation(xb)
        elif tape is not None:
            tape.armed = True
            try:
                outputs = model(xb)
            finally:
                tape.armed = False
        else:
            outputs = model(xb)
        losses = torch.stack([fn(outputs[n], y) for fn, n, y in zip(fns, self.names, yb)])
        # computed here, not on demand: the diagnostics and the reusing backward need them too
        grads = None
        if need_grads:
            grads = task_gradients(losses, [rep] if use_rep else setup.shared_params)
        inputs = _LoopInputs(self, xb, yb, outputs, losses, grads, rep if use_rep else None, fns)
        gram = inputs.gram = self._gramian(losses) if gram_only else None
        info = driver.prepare(strategy, wants, self.step, self.epoch, inputs)
        combined = strategy.combine(losses, info)
        given = grads if grads is not None else info.grads  # GRADS_SPLIT's parts fill info's
        width = gram.width if gram is not None else None if given is None else int(given.shape[1])
        direction = driver.direction_of(strategy, combined, width, cfg.strategy.grad_mode)
        total = combined.total
        extras = self._penalties()
        opt_cfg = cfg.optimizer
        if combined.aux is not None:
            extras["strategy_aux"] = combined.aux
        setup.optimizer.zero_grad(set_to_none=True)
        if direction is not None:  # the strategy's own update, on whatever G was taken w.r.t.
            self._backward_along(combined.total, direction, extras, rep if use_rep else None)
        elif grads is not None and not use_rep and REUSE_TASK_GRADIENTS:
            self._backward_along(combined.total, combined.weights.to(grads.dtype) @ grads,
                                 extras)
        elif gram is not None and REUSE_TASK_GRADIENTS:
            self._backward_along(combined.total, gram.update(combined.weights), extras)
        else:
            for v in extras.values():
                total = total + v
            total.backward()
        if opt_cfg.clip_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), opt_cfg.clip_grad_norm)
        setup.optimizer.step()
        driver.finish(strategy, wants, info, inputs)
        diag = (diagnostics(grads, combined.weights, direction)
                if diag_now and grads is not None else None)
        if self.constant_ok and self.constant is None and direction is None \
                and combined.aux is None and combined.shown is None:
            self.constant = combined.weights.detach()
            self.constant_ones = bool((self.constant == 1).all())  # one sync, once per run
        return losses.detach(), combined.plotted.detach(), combined.total.detach(), extras, diag

    def _constant_step(self, xb: Inputs, yb: list[torch.Tensor],
                       fns: tuple[LossFn, ...]):
        """_step for a strategy of constant weights w, once they are known: total = sum_i w_i L_i
        as its combine computes it ((w * L).sum(); L.sum() when every w_i is 1, the same value
        since 1 * x == x), with no strategy calls. Same return as _step."""
        setup = self.setup
        assert setup is not None
        model, opt_cfg = setup.model, self.config.optimizer
        outputs = model(xb)
        losses = torch.stack([fn(outputs[n], y) for fn, n, y in zip(fns, self.names, yb)])
        w = self.constant
        assert w is not None
        total = losses.sum() if self.constant_ones else (w.to(losses.dtype) * losses).sum()
        extras = self._penalties()
        setup.optimizer.zero_grad(set_to_none=True)
        back = total
        for v in extras.values():
            back = back + v
        back.backward()
        if opt_cfg.clip_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), opt_cfg.clip_grad_norm)
        setup.optimizer.step()
        return losses.detach(), w, total.detach(), extras, None

    def _drop_tape(self) -> None:
        if self.tape is not None:
            self.tape.detach()
            self.tape = None

    def _gramian(self, losses: torch.Tensor) -> TaskGramian | FactoredGramian:
        """K and w -> w^T G for a GRAMIAN-only step (gramian_tape.step_gramian)."""
        tape = self.tape
        gram = step_gramian(tape, losses, self.setup.shared_params)  # type: ignore[union-attr]
        if tape is not None and tape.note is not None:  # switched off (and detached) for good
            self.route_notes.append(tape.note)
            self.tape = None
        return gram

    def _penalties(self) -> dict[str, torch.Tensor]:
        """This step's penalty terms, by logged name: the model's own (soft sharing), then L1 and
        L2 on the shared parameters."""
        setup = self.setup
        assert setup is not None
        model = setup.model
        extras: dict[str, torch.Tensor] = {}
        penalty = model.penalty()
        if penalty is not None:
            extras[model.penalty_name] = penalty
        opt_cfg = self.config.optimizer
        if opt_cfg.l1 or opt_cfg.l2:
            shared = setup.shared_params
            if opt_cfg.l1:
                extras["l1"] = opt_cfg.l1 * sum(p.abs().sum() for p in shared)
            if opt_cfg.l2:
                extras["l2"] = opt_cfg.l2 * sum(p.pow(2).sum() for p in shared)
        return extras

    def _backward_along(self, total: torch.Tensor,
                        direction: torch.Tensor | list[torch.Tensor],
                        extras: dict[str, torch.Tensor], rep: torch.Tensor | None = None
                        ) -> None:
        """Put `direction` on the shared parameters (from `rep` back through the trunk when
        given) and back-propagate the total into the rest only (gradients.backward_along): for a
        weights strategy d = w^T G reuses the per-task gradients, so the trunk's backward does not
        run a second time. Penalties on shared parameters still flow into them."""
        setup = self.setup
        assert setup is not None
        aux = extras.get("strategy_aux")
        on_shared = [v for k, v in extras.items() if k != "strategy_aux"]
        backward_along(total if aux is None else total + aux, direction, setup.shared_params,
                       setup.other_params, sum(on_shared) if on_shared else None, rep)

    def _new_warnings(self) -> Iterator[Warned]:
        """Things the user must see that do not stop the run (a slower gradient route, say)."""
        setup = self.setup
        notes = fallback_notes() + self.route_notes \
            + (setup.strategy.take_notes() if setup is not None else [])
        for note in notes:
            if note not in self.notes_seen:
                self.notes_seen.add(note)
                yield Warned(self.step, note)

    def _gradients_event(self, diag: dict[str, torch.Tensor]) -> GradientsMeasured:
        names = tuple(t.name for t in self.setup.tasks)  # type: ignore[union-attr]
        norms = diag["norms"].tolist()
        upd = diag["update_cosine"].tolist()
        cos = tuple(tuple(row) for row in diag["cosine"].tolist())
        return GradientsMeasured(self.step - 1, self.epoch, self.config.strategy.grad_mode,
                                 dict(zip(names, norms)), cos, dict(zip(names, upd)), names)

    # ------------------------------------------------------------------ validation
    @torch.no_grad()
    def _validate(self, train_mean: torch.Tensor, seconds: float, samples: int) -> EpochEnded:
        setup = self.setup
        assert setup is not None
        t_val = time.perf_counter()
        names = [t.name for t in setup.tasks]
        multilabel: dict[str, float] = {}
        val_loss, metrics = self._evaluate(setup.val, multilabel)
        train_loss = dict(zip(names, train_mean.tolist()))
        self.last_metrics = metrics
        headline = [metrics.get(t.name, {}).get(t.metric) for t in setup.tasks]
        good = [(v, t.weight) for v, t in zip(headline, setup.tasks)
                if v is not None and t.higher_is_better and t.weight > 0]
        score = sum(v * w for v, w in good) / sum(w for _, w in good) if good else None
        self._track(score, val_loss, metrics)
        setup.strategy.end_epoch(EpochStats(
            self.epoch + 1, list(train_loss.values()), [val_loss.get(n, math.nan) for n in names],
            [metrics.get(n, {}) for n in names], headline))
        seconds += time.perf_counter() - t_val
        return EpochEnded(self.epoch + 1, self.step, train_loss, val_loss, metrics, score,
                          seconds, samples / max(seconds, 1e-9), val_multilabel=multilabel)

    @torch.no_grad()
    def _evaluate(self, split: Split, multilabel: dict[str, float] | None = None
                  ) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
        """Per-task loss and metrics of the model as it is now on `split` (validation, test).
        A `multilabel` dict given is filled with the run-level metrics across the binary tasks
        (multilabel.py; none below 2 of them)."""
        setup = self.setup
        assert setup is not None
        loss: dict[str, float] = {}
        metrics: dict[str, dict[str, float]] = {}
        binary: list[tuple[torch.Tensor, torch.Tensor]] = []  # logits, targets
        if len(split):
            setup.model.eval()
            bs = max(256, self.config.training.batch_size * 4)
            outs = [setup.model(part(split.x, slice(i, i + bs)))
                    for i in range(0, len(split), bs)]
            for t, fn in zip(setup.tasks, setup.loss_fns):
                pred = torch.cat([o[t.name] for o in outs])
                target = split.y[t.source]
                loss[t.name] = float(fn(pred, target))  # standardised units, as trained
                pred = prediction(t.loss, pred)  # the loss's link: a poisson output is log-mean
                pred, target = raw_units(setup, t.source, pred, target)
                metrics[t.name] = {m: float(f(pred, target)) for m, f in metric_fns(t).items()}
                if t.type == "binary":
                    binary.append((pred, target))
            if multilabel is not None:
                multilabel.update(multilabel_metrics([p for p, _ in binary],
                                                     [y for _, y in binary]))
            setup.model.train()
        return loss, metrics


class _LoopInputs(driver.StepInputs):
    """What the training loop gives a strategy for one step (see strategies.driver)."""

    __slots__ = ("loop", "xb", "yb", "outs", "losses", "task_grads", "rep", "part_losses", "fns",
                 "gram")
    source = "the training loop"

    def __init__(self, loop: _Loop, xb: Inputs, yb: list[torch.Tensor],
                 outs: dict[str, torch.Tensor], losses: torch.Tensor,
                 task_grads: torch.Tensor | None, rep: torch.Tensor | None = None,
                 fns: tuple[LossFn, ...] | None = None) -> None:
        self.loop, self.xb, self.yb, self.outs = loop, xb, yb, outs
        self.losses, self.task_grads, self.rep = losses, task_grads, rep
        self.part_losses: torch.Tensor | None = None
        self.gram: TaskGramian | None = None  # GRAMIAN alone: K without G (set by the loop)
        # this batch's loss functions (the fused forms where it misses no target)
        self.fns = fns if fns is not None else tuple(loop.setup.loss_fns)  # type: ignore[union-attr]

    def grads(self) -> torch.Tensor:
        assert self.task_grads is not None  # the loop computes them whenever GRADS is wanted
        return self.task_grads

    def representation(self) -> torch.Tensor | None:
        return None if self.rep is None else self.rep.detach()

    def gramian(self) -> torch.Tensor:
        return self.gram.gramian if self.gram is not None else super().gramian()

    def last_shared_grads(self) -> torch.Tensor:
        model = self.loop.setup.model  # type: ignore[union-attr]
        return task_gradients(self.losses, model.last_shared_parameters())

    def grads_split(self, parts: int = 2) -> torch.Tensor:
        """Each of `parts` consecutive parts of the (already shuffled) batch through the model
        again, and its per-task gradients on the shared parameters, whatever the grad_mode
        (MoDo, SDMGrad). The parts' sizes differ by at most one, the first ones the larger (as
        numpy's array_split); with fewer rows than parts, rows are used again (row i % n)."""
        setup = self.loop.setup
        assert setup is not None
        n = n_rows(self.xb)
        if n >= parts:
            sizes = [n // parts + (i < n % parts) for i in range(parts)]
            starts = [sum(sizes[:i]) for i in range(parts)]
            cuts = [slice(a, a + k) for a, k in zip(starts, sizes)]
        else:
            cuts = [slice(i % n, i % n + 1) for i in range(parts)]
        rows, part_losses = [], []
        for cut in cuts:
            out = setup.model(part(self.xb, cut))
            losses = torch.stack([fn(out[t.name], y[cut])
                                  for fn, t, y in zip(self.fns, setup.tasks, self.yb)])
            rows.append(task_gradients(losses, setup.shared_params).detach())
            part_losses.append(losses)  # the graph is kept: a strategy may train heads on it
        self.part_losses = torch.stack(part_losses)
        return torch.stack(rows)

    def split_losses(self) -> torch.Tensor | None:
        return self.part_losses

    def outputs(self) -> dict[str, torch.Tensor]:
        return {k: v.detach() for k, v in self.outs.items()}

    @torch.no_grad()
    def mc_outputs(self, passes: int) -> list[dict[str, torch.Tensor]]:
        model = self.loop.setup.model  # type: ignore[union-attr]
        return [model(self.xb) for _ in range(passes)]

    @torch.no_grad()
    def losses_after(self) -> torch.Tensor:
        setup = self.loop.setup
        assert setup is not None
        out2 = setup.model(self.xb)
        return torch.stack([fn(out2[t.name], y)
                            for fn, t, y in zip(self.fns, setup.tasks, self.yb)])


def _layer_dict(li: object) -> dict[str, object]:
    from dataclasses import asdict, is_dataclass

    if hasattr(li, "to_dict"):  # LayerInfo: a merge row's in_shapes only where there are any
        return li.to_dict()  # type: ignore[no-any-return]
    return asdict(li) if is_dataclass(li) else dict(vars(li))  # type: ignore[arg-type]


class _StepBuffer:
    """Per-step values kept on the device; copied to the host once per `log_every` steps.

    It also keeps the weights of a step whose losses were checked finite, so a diverged run hands
    back a usable model without any per-step check or copy. The losses of step k are computed
    from the weights as they are before step k's update ("the weights at step k"), so a finite
    loss at step k checks those weights, and a copy taken at a flush (the weights at the first
    step of the next interval) is checked only by the next flush. Two copies are therefore kept,
    refreshed by one in-place copy per flush:

    - `candidate`: the weights at the first step of the interval being filled, not yet checked;
    - `verified`: the candidate of the interval before, checked by its first finite loss.

    When step s of the interval [a, b] is the first non-finite one, the weights go back to the
    candidate (step a) if s > a (step a's finite loss checked it), else to `verified`; the error
    names that step. Before any interval was checked (s == 0) no weights were checked at all:
    the model keeps its initial weights and the error claims no restored step.
    """

    def __init__(self, loop: _Loop, t0: float) -> None:
        self.loop = loop
        self.t0 = t0
        self.rows: list[tuple[torch.Tensor, ...]] = []
        self.steps: list[int] = []
        self.walls: list[float] = []
        self.extra_names: list[str] | None = None
        self.samples = 0
        self.t_last = time.perf_counter()
        setup = loop.setup
        assert setup is not None
        # state_dict() tensors alias the live parameters and buffers; keep them to skip rebuilding
        # the dict at every flush. The strategy's own learnable parameters go back with the model.
        self.live = list(setup.model.state_dict(keep_vars=False).values()) + [
            p.detach() for p in setup.strategy.parameters()]
        self.candidate = [t.detach().clone() for t in self.live]
        self.candidate_step = loop.step
        self.verified = [t.detach().clone() for t in self.live]
        self.verified_step: int | None = None

    @property
    def full(self) -> bool:
        return len(self.rows) >= self.loop.config.training.log_every

    def add(self, losses, weights, total, extras, n: int) -> None:
        """Keep one step's detached values: no device work here, they are stacked at the flush."""
        if self.extra_names is None:
            self.extra_names = list(extras)
        self.rows.append((losses, weights, total, *(extras[k].detach() for k in self.extra_names)))
        self.steps.append(self.loop.step)
        self.walls.append(time.perf_counter() - self.t0)
        self.samples += n

    def flush(self) -> Iterator[StepsLogged]:
        if not self.rows:
            return
        setup = self.loop.setup
        assert setup is not None
        T = len(setup.tasks)
        values = self._matrix().cpu().tolist()  # the one host transfer per log interval
        names = [t.name for t in setup.tasks]
        for r, row in enumerate(values):
            bad = [i for i in range(T) if not math.isfinite(row[i])]
            if bad or not math.isfinite(row[2 * T]):
                yield from self._diverged(r, values, names, bad)
        self.verified, self.candidate = self.candidate, self.verified
        self.verified_step = self.candidate_step
        self._copy(self.live, self.candidate)
        self.candidate_step = self.loop.step
        yield self._event(values, names)

    def _diverged(self, r: int, values: list[list[float]], names: list[str],
                  bad: list[int]) -> Iterator[StepsLogged]:
        """Roll back to checked weights, log the finite steps before step `r`, and raise."""
        if r > 0:  # the interval's first step was finite: its weights (the candidate) are checked
            kept, kept_step = self.candidate, self.candidate_step
        elif self.verified_step is not None:
            kept, kept_step = self.verified, self.verified_step
        else:  # the very first step: nothing was ever checked; keep the initial weights
            kept, kept_step = self.candidate, None
        self._copy(kept, self.live)
        row = values[r]
        T = len(names)
        task = names[bad[0]] if bad else "total"
        value = row[bad[0]] if bad else row[2 * T]
        step = self.steps[r]
        if r > 0:  # the curves keep every step that was finite
            self.rows, self.steps, self.walls = self.rows[:r], self.steps[:r], self.walls[:r]
            yield self._event(values[:r], names)
        raise DivergedError(task, step, value, kept_step)

    def _event(self, values: list[list[float]], names: list[str]) -> StepsLogged:
        loop = self.loop
        setup = loop.setup
        assert setup is not None
        T = len(names)
        cols = list(zip(*values))
        now = time.perf_counter()
        rate = self.samples / max(now - self.t_last, 1e-9)
        lr = setup.optimizer.param_groups[0]["lr"]
        event = StepsLogged(
            steps=tuple(self.steps), epoch=loop.epoch, wall=tuple(self.walls),
            losses={n: cols[i] for i, n in enumerate(names)},
            weights={n: cols[T + i] for i, n in enumerate(names)},
            weighted={n: tuple(a * b for a, b in zip(cols[i], cols[T + i]))
                      for i, n in enumerate(names)},
            total=cols[2 * T], lr=tuple(lr for _ in self.steps),
            extra={k: cols[2 * T + 1 + j] for j, k in enumerate(self.extra_names or [])},
            samples_per_sec=rate,
        )
        self.rows, self.steps, self.walls, self.samples, self.t_last = [], [], [], 0, now
        return event

    def _matrix(self) -> torch.Tensor:
        """The rows kept since the last flush as one (steps, 2T + 1 + extras) tensor: losses,
        weights, total, extras."""
        cols = list(zip(*self.rows))
        return torch.cat([torch.stack(cols[0]), torch.stack(cols[1]),
                          *(torch.stack(c).reshape(-1, 1) for c in cols[2:])], dim=1)

    @staticmethod
    def _copy(src: list[torch.Tensor], dst: list[torch.Tensor]) -> None:
        with torch.no_grad():
            torch._foreach_copy_(dst, src)
