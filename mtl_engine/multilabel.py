"""Run-level metrics across the binary tasks of a run, read as one multi-label problem.

With L >= 2 binary tasks, row i has the label vector y_i in {0, 1}^L and the prediction
yhat_ij = [logit_ij > 0]. A missing label (-1 or NaN, as the losses mask them) leaves its cell out
of every count, so:

- hamming_loss: wrong cells / present cells (lower is better);
- micro_f1: 2 TP / (2 TP + FP + FN) with TP, FP, FN summed over every present cell;
- macro_f1: the mean over labels of each label's F1 over its present cells (a label with no
  positive target and no positive prediction scores 0, as metrics.f1 and scikit-learn's
  zero_division=0 do; a label with no present cell is left out);
- subset_accuracy: the share of rows whose present labels are all right (exact match), over the
  rows with at least one present label.

scikit-learn's hamming_loss, f1_score(average="micro" / "macro") and accuracy_score on a label
matrix give the same numbers when nothing is missing. Anything with nothing left to score is NaN.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

# name -> higher is better; the order the run reports them in
MULTILABEL_METRICS: dict[str, bool] = {
    "hamming_loss": False,
    "micro_f1": True,
    "macro_f1": True,
    "subset_accuracy": True,
}
MIN_LABELS = 2  # fewer binary tasks than this: no run-level metrics
_NAN = float("nan")


def multilabel_metrics(preds: Sequence[torch.Tensor], targets: Sequence[torch.Tensor]
                       ) -> dict[str, float]:
    """The metrics above for one logit tensor and one target tensor per binary task (each (N,)
    or (N, 1), rows aligned); {} for fewer than MIN_LABELS tasks."""
    if len(preds) < MIN_LABELS:
        return {}
    n = targets[0].shape[0]
    logits = torch.stack([torch.as_tensor(p).detach().reshape(n) for p in preds], dim=1)
    t = torch.stack([torch.as_tensor(y, device=logits.device).detach().reshape(n).double()
                     for y in targets], dim=1)
    present = t >= 0  # False for -1 and NaN alike
    guess = logits > 0
    true = t > 0.5
    tp = (guess & true & present).sum(dim=0).double()
    fp = (guess & ~true & present).sum(dim=0).double()
    fn = (~guess & true & present).sum(dim=0).double()
    wrong = ((guess != true) & present)
    cells = present.sum(dim=0).double()
    rows = present.any(dim=1)
    row_right = (~wrong).all(dim=1) & rows
    label_f1 = 2 * tp / (2 * tp + fp + fn).clamp(min=1)
    labelled = cells > 0
    micro_den = 2 * tp.sum() + fp.sum() + fn.sum()
    values = torch.stack([
        wrong.sum() / cells.sum().clamp(min=1),
        2 * tp.sum() / micro_den.clamp(min=1),
        label_f1[labelled].sum() / labelled.sum().clamp(min=1),
        row_right.sum() / rows.sum().clamp(min=1),
        cells.sum(),
    ]).tolist()  # the one host transfer
    if values.pop() == 0:
        return dict.fromkeys(MULTILABEL_METRICS, _NAN)
    return dict(zip(MULTILABEL_METRICS, values))
