"""BPR-max and TOP1-max (Hidasi & Karatzoglou 2018), the ranking losses of GRU4Rec.

Both compare a row's score of its true next item, ``r_t``, with its scores of negative items
``r_j``, weighting each negative by ``s_j``, the softmax of the negatives' scores alone (so the
negatives that score highest, the ones that hurt the ranking, dominate)::

    BPR-max:   L = -log( sum_j s_j sigmoid(r_t - r_j) ) + reg * sum_j s_j r_j^2
    TOP1-max:  L =  sum_j s_j ( sigmoid(r_j - r_t) + sigmoid(r_j^2) )

The last terms are the papers' score regularisation: BPR-max's ``reg`` (GRU4Rec's ``bpreg``) and
TOP1-max's ``sigmoid(r_j^2)``, which push the negatives' scores towards zero.

**Negatives**, shared by every counted row of a window (a row never counts its own target: a
negative equal to it -- an "accidental hit" -- is left out of that row):

* *in-batch* (``in_batch``, default 64): the targets of the window's counted rows, repeats
  included, as GRU4Rec's mini-batch uses the other sessions' next items -- popular items come up
  more often, a popularity sample for free. A window of padded sequences holds B x T targets,
  thousands, so at most ``in_batch`` of them are taken (a uniform pick without replacement, all
  of them when there are fewer: with session-parallel batches of B <= ``in_batch`` rows and
  ``-o window=1`` this is exactly GRU4Rec's scheme); 0 uses none;
* *extra samples* (``samples``, default 128): drawn with replacement from the popularity proposal
  ``p(i) ~ count(i)**alpha`` (``alpha`` default 0.75, 0 = uniform over the training items), where
  ``count`` is the task's ``ModelSpec.class_frequencies``; items with count 0 (padding, items never
  trained on) are never drawn. GRU4Rec calls these ``n_sample`` and ``sample_alpha``.

In-batch negatives tie a row's loss to the other rows of its window, so the loss of a batch is
not the sum of the losses of its halves: gradient accumulation (``--accumulate``) and data
parallelism see smaller windows, hence fewer and different in-batch negatives, than one large
batch would (as in GRU4Rec, where the mini-batch is the sample). With ``in_batch = 0`` the
negatives are the window's draw alone and the loss is a plain sum over rows.

Both losses need only the scores of the targets and the negatives, so they declare
``needs = "features"``: they score ``(n, 1 + M)`` entries instead of ``(N, V)`` and return the
gradients of the readout's input, weight and bias. Rows with weight 0 (padding) cost nothing. A
row left without any negative (every negative is its own target) has loss 0. Outside training
(``rng`` None) the negatives come from a fixed draw, so the loss is a repeatable estimate.

Forward and backward are written once against :class:`seqframe.ops.Ops`, the backward right under
each forward (derivations in the docstrings).
"""

from __future__ import annotations

import numpy as np

from seqframe.errors import ConfigError
from seqframe.losses import Loss, LossResult
from seqframe.ops import Array, Ops
from seqframe.task import TaskOption

MASKED = -1.0e30  # the score of a left-out negative: exp() of it is exactly 0 in float32

NEGATIVE_OPTIONS = (
    TaskOption("samples", int, 128, "extra negatives drawn per window from the popularity "
               "proposal (0: in-batch negatives only)"),
    TaskOption("alpha", float, 0.75, "the proposal: p(i) ~ count(i)**alpha (0: uniform over the "
               "items seen in training)"),
    TaskOption("in_batch", int, 64, "at most this many of the window's targets are negatives "
               "(0: none)"),
)


class RankingLoss(Loss):
    """What BPR-max and TOP1-max share: the negatives, the scoring, and the chain rule back to
    the readout. A subclass writes :meth:`row_loss`, the loss of scores ``(r_t, R)``."""

    targets = "classes"
    needs = "features"
    options = NEGATIVE_OPTIONS

    def __init__(self, **options):
        super().__init__(**options)
        o = self.opts
        for key in ("samples", "in_batch"):
            if o[key] < 0:
                raise ConfigError(f"loss {self.name!r} option {key!r} must be 0 or more; got "
                                  f"{o[key]}.")
        if o["alpha"] < 0:
            raise ConfigError(f"loss {self.name!r} option 'alpha' must be 0 or more; got "
                              f"{o['alpha']}.")
        if o["samples"] == 0 and o["in_batch"] == 0:
            raise ConfigError(f"loss {self.name!r} has no negatives: samples and in_batch are "
                              "both 0; set one of them (loss_options) to 1 or more.")
        self._cumulative: np.ndarray | None = None  # the proposal's CDF over classes

    # ---- negatives ---------------------------------------------------------------------------
    def prepare(self, spec) -> None:
        if self.opts["samples"] == 0:
            return
        counts = getattr(spec, "class_frequencies", None)
        if counts is None:
            raise ConfigError(f"loss {self.name!r} draws negatives by popularity and needs the "
                              "task's class frequencies (ModelSpec.class_frequencies), which it "
                              "does not give; use loss_options samples = 0 (in-batch negatives "
                              "only).")
        self.set_frequencies(np.asarray(counts, dtype=np.float64))

    def set_frequencies(self, counts: np.ndarray) -> None:
        """The proposal ``p(i) ~ counts[i]**alpha`` over the classes with a positive count."""
        seen = counts > 0
        if not seen.any():
            raise ConfigError(f"loss {self.name!r}: every class frequency is 0, so there is "
                              "nothing to draw negatives from.")
        weights = np.where(seen, np.where(seen, counts, 1.0) ** self.opts["alpha"], 0.0)
        self._cumulative = np.cumsum(weights / weights.sum())

    def draw(self, rng: np.random.Generator, classes: int) -> np.ndarray:
        """``samples`` class ids, with replacement, from the proposal (host int64)."""
        k = self.opts["samples"]
        if k == 0:
            return np.zeros(0, dtype=np.int64)
        if self._cumulative is None or len(self._cumulative) != classes:
            known = 0 if self._cumulative is None else len(self._cumulative)
            raise ConfigError(f"loss {self.name!r} was given frequencies of {known} classes, "
                              f"but the model scores {classes}; prepare it with the task's spec.")
        # side="right" never picks a class whose CDF step is zero (a zero-count class)
        drawn = np.searchsorted(self._cumulative, rng.random(k), side="right")
        return np.minimum(drawn, classes - 1).astype(np.int64)

    def negatives(self, row_targets: np.ndarray, rng: np.random.Generator,
                  classes: int) -> np.ndarray:
        """(M,) the window's negatives: in-batch targets (at most ``in_batch``, in row order),
        then the extra samples."""
        sampled = self.draw(rng, classes)
        keep = self.opts["in_batch"]
        if len(row_targets) > keep:
            row_targets = row_targets[np.sort(rng.choice(len(row_targets), keep, replace=False))]
        return np.concatenate([row_targets.astype(np.int64), sampled])

    # ---- the loss of scores ------------------------------------------------------------------
    def row_loss(self, ops: Ops, r_t: Array, scores: Array, valid: Array,
                 grad: bool) -> tuple[Array, Array | None, Array | None]:
        """Per-row loss from the targets' scores ``r_t`` (n, 1) and the negatives' ``scores``
        (n, M), of which ``valid`` (n, M, 0/1) counts; every row has a valid negative.

        Returns:
            ``(loss (n,), d loss / d r_t (n, 1), d loss / d scores (n, M))``, gradients None
            without ``grad``.
        """
        raise NotImplementedError

    def pick(self, targets: np.ndarray, weights: np.ndarray, rng: np.random.Generator,
             classes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(rows (n,), negatives (M,), valid (n, M) bool)``: the counted rows that have a
        negative, the window's negatives, and which of them each row counts (host arrays)."""
        counted = np.flatnonzero(weights > 0)
        cols = self.negatives(targets[counted], rng, classes)  # (M,)
        valid = cols[None, :] != targets[counted][:, None]  # (n, M) no accidental hits
        has = valid.any(axis=1)  # a row with no negative left has loss 0
        return counted[has], cols, valid[has]

    # ---- the readout's chain rule ------------------------------------------------------------
    def loss_and_grad_features(self, ops, features, weight, bias, targets, weights, *,
                               grad=True, rng=None):
        host_targets = ops.to_numpy(targets).astype(np.int64)  # (N,)
        host_weights = ops.to_numpy(weights).astype(np.float64)  # (N,)
        rng = np.random.default_rng(0) if rng is None else rng
        rows, cols, valid = self.pick(host_targets, host_weights, rng, weight.shape[0])
        result = LossResult(ops.sum(weights * 0.0), ops.sum(weights))
        if grad:
            result.d_outputs = ops.zeros_like(features)
            result.d_weight, result.d_bias = ops.zeros_like(weight), ops.zeros_like(bias)
        if not len(rows):
            return result
        t = host_targets[rows]
        feats = ops.take(features, rows, axis=0)  # (n, F)
        w_t, w_c = ops.take(weight, t, axis=0), ops.take(weight, cols, axis=0)  # (n, F) (M, F)
        r_t = ops.sum(feats * w_t, axis=1, keepdims=True) + \
            ops.reshape(ops.take(bias, t, axis=0), (-1, 1))  # (n, 1)
        scores = ops.matmul(feats, ops.permute_dims(w_c, (1, 0))) + \
            ops.reshape(ops.take(bias, cols, axis=0), (1, -1))  # (n, M)
        row_w = ops.asarray(host_weights[rows][:, None])  # (n, 1)
        loss, d_rt, d_scores = self.row_loss(ops, r_t, scores, ops.asarray(valid * 1.0), grad)
        result.loss_sum = ops.sum(ops.reshape(loss, (-1, 1)) * row_w)
        if not grad:
            return result
        d_rt, d_scores = d_rt * row_w, d_scores * row_w
        d_feats = d_rt * w_t + ops.matmul(d_scores, w_c)  # (n, F)
        result.d_outputs = ops.index_add(result.d_outputs, rows, d_feats)
        d_weight = ops.index_add(result.d_weight, t, d_rt * feats)
        result.d_weight = ops.index_add(d_weight, cols,
                                        ops.matmul(ops.permute_dims(d_scores, (1, 0)), feats))
        d_bias = ops.index_add(result.d_bias, t, ops.reshape(d_rt, (-1,)))
        result.d_bias = ops.index_add(d_bias, cols, ops.sum(d_scores, axis=0))
        return result


def softmax_of_negatives(ops: Ops, scores: Array, valid: Array) -> tuple[Array, Array]:
    """``(s, lse)``: the softmax over each row's valid negatives (n, M), 0 on the others, and
    the row's log-sum-exp (n, 1)."""
    masked = ops.where(valid, scores, MASKED)
    top = ops.max(masked, axis=1, keepdims=True)  # (n, 1), a valid score: every row has one
    exp = ops.exp(masked - top)  # 0 on left-out negatives
    total = ops.sum(exp, axis=1, keepdims=True)
    return exp / total, ops.log(total) + top


def log_sigmoid(ops: Ops, x: Array) -> Array:
    """``log sigmoid(x) = -softplus(-x)``, without overflow: ``-(max(-x, 0) + log(1 + e^-|x|))``."""
    return -(ops.maximum(-x, 0.0) + ops.log(1.0 + ops.exp(-ops.abs(x))))


class BPRMax(RankingLoss):
    """BPR-max: ``-log sum_j s_j sigmoid(r_t - r_j) + reg sum_j s_j r_j^2`` per row.

    With ``u_j = sigmoid(r_t - r_j)``, ``P = sum_j s_j u_j`` and ``q_j = s_j u_j / P`` (which sums
    to 1), the softmax Jacobian ``ds_k/dr_j = s_k (delta_kj - s_j)`` gives::

        d(-log P)/dr_j = s_j - q_j u_j          d(-log P)/dr_t = -sum_j q_j (1 - u_j)
        d(reg sum s r^2)/dr_j = reg s_j (r_j^2 - sum_k s_k r_k^2 + 2 r_j)

    ``log P`` is a log-sum-exp of ``log s_j + log sigmoid(r_t - r_j)``, so it never underflows
    (GRU4Rec adds 1e-24 inside the log instead).
    """

    name = "bpr_max"
    description = "BPR-max ranking loss, in-batch and popularity-sampled negatives (GRU4Rec)"
    options = NEGATIVE_OPTIONS + (
        TaskOption("reg", float, 1.0, "the score regularisation's weight (GRU4Rec's bpreg)"),)

    def row_loss(self, ops, r_t, scores, valid, grad):
        s, lse = softmax_of_negatives(ops, scores, valid)  # (n, M), (n, 1)
        diff = r_t - scores  # (n, M)
        log_terms = ops.where(valid, scores - lse + log_sigmoid(ops, diff), MASKED)
        top = ops.max(log_terms, axis=1, keepdims=True)
        log_p = ops.log(ops.sum(ops.exp(log_terms - top), axis=1, keepdims=True)) + top  # (n, 1)
        square = scores * scores
        reg_term = ops.sum(s * square, axis=1, keepdims=True)  # (n, 1)
        reg = self.opts["reg"]
        loss = ops.reshape(reg * reg_term - log_p, (-1,))
        if not grad:
            return loss, None, None
        q = ops.exp(log_terms - log_p)  # (n, M), 0 on left-out negatives
        u = ops.sigmoid(diff)
        d_scores = s - q * u + reg * s * (square - reg_term + 2.0 * scores)
        d_rt = -ops.sum(q * (1.0 - u), axis=1, keepdims=True)
        return loss, d_rt, d_scores


class TOP1Max(RankingLoss):
    """TOP1-max: ``sum_j s_j (sigmoid(r_j - r_t) + sigmoid(r_j^2))`` per row.

    With ``g_j = sigmoid(r_j - r_t) + sigmoid(r_j^2)`` and the loss ``L = sum_j s_j g_j``, the
    softmax Jacobian gives ``dL/dr_j = s_j (g_j - L) + s_j g'_j``, where
    ``g'_j = a_j (1 - a_j) + 2 r_j b_j (1 - b_j)`` for ``a_j = sigmoid(r_j - r_t)``,
    ``b_j = sigmoid(r_j^2)``; and ``dL/dr_t = -sum_j s_j a_j (1 - a_j)``.
    """

    name = "top1_max"
    description = "TOP1-max ranking loss, in-batch and popularity-sampled negatives (GRU4Rec)"

    def row_loss(self, ops, r_t, scores, valid, grad):
        s, _ = softmax_of_negatives(ops, scores, valid)  # (n, M)
        a = ops.sigmoid(scores - r_t)
        b = ops.sigmoid(scores * scores)
        g = a + b
        loss = ops.sum(s * g, axis=1, keepdims=True)  # (n, 1)
        if not grad:
            return ops.reshape(loss, (-1,)), None, None
        slope = a * (1.0 - a)
        d_scores = s * (g - loss) + s * (slope + 2.0 * scores * b * (1.0 - b))
        d_rt = -ops.sum(s * slope, axis=1, keepdims=True)
        return ops.reshape(loss, (-1,)), d_rt, d_scores
