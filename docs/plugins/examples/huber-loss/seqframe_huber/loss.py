"""The Huber loss (Huber 1964): squared error for small residuals, absolute error for large ones.

For a residual ``r = output - target`` and a threshold ``delta``::

    huber(r) = r**2 / 2                     if |r| <= delta
             = delta * (|r| - delta / 2)    otherwise

With ``q = min(|r|, delta)`` both branches are ``q * (|r| - q / 2)``, and the derivative is
``clip(r, -delta, delta)``: the gradient of an outlier is capped at ``delta``, so a few bad
targets cannot dominate a batch the way they do under squared error. Per target the loss is
averaged over its O values, as seqframe's ``mse`` is.
"""

from __future__ import annotations

from seqframe.errors import ConfigError
from seqframe.losses import Loss, LossResult
from seqframe.task import TaskOption


# --8<-- [start:class]
class HuberLoss(Loss):
    """Huber loss over each target's O values, averaged over O (see the module docstring)."""

    name = "huber"
    description = "Huber loss: squared error below delta, absolute error above (robust)"
    targets = "values"  # float targets (N, O), as the mse loss takes
    needs = "logits"  # the readout's outputs (N, O); the default, said here for the reader
    options = (TaskOption("delta", float, 1.0, "where the loss turns from square to linear"),)

    def __init__(self, **options):
        super().__init__(**options)  # checks names and types, fills self.opts
        if self.opts["delta"] <= 0:
            raise ConfigError(f"loss 'huber' option 'delta' must be positive; got "
                              f"{self.opts['delta']}. Use e.g. loss_options.delta = 1.0.")
# --8<-- [end:class]

    # --8<-- [start:maths]
    def loss_and_grad(self, ops, outputs, targets, weights, *, grad=True, rng=None):
        delta, width = self.opts["delta"], outputs.shape[1]
        r = (outputs - targets) * ops.reshape(weights, (-1, 1))  # (N, O), 0 where not counted
        a = ops.abs(r)
        q = ops.minimum(a, delta)  # |r| capped at delta
        result = LossResult(ops.sum(q * (a - 0.5 * q)) / width,  # SUM over counted rows
                            ops.sum(weights))  # and their COUNT
        if grad:
            result.d_outputs = ops.clip(r, -delta, delta) / width  # (N, O)
        return result
    # --8<-- [end:maths]
