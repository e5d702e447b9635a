"""torch's fused Adam/AdamW kernel (``Ops.fused_update``) takes the steps core's own arithmetic
takes: over several steps, with weight decay and changing rates, in float64 and float32."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from seqframe_torch.ops import TorchOps  # noqa: E402

from seqframe.training.optim import SGD, Adam, AdamW  # noqa: E402

TOL = {"float64": dict(rtol=1e-12, atol=1e-14), "float32": dict(rtol=2e-6, atol=1e-7)}


def run(opt_cls, ops, steps=6, **options):
    rng = np.random.default_rng(0)
    opt = opt_cls(ops, weight_decay=0.01, **options)
    params = {"table": ops.asarray(rng.normal(size=(50, 8))), "bias": ops.asarray(rng.normal(
        size=8))}
    for k in range(steps):
        grads = {name: ops.asarray(rng.normal(size=tuple(p.shape))) for name, p in params.items()}
        opt.step(params, grads, lr=0.01 * (k + 1))
    return {k: ops.to_numpy(v) for k, v in params.items()}, opt


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("opt_cls", [Adam, AdamW], ids=["adam", "adamw"])
def test_the_fused_kernel_takes_cores_steps(opt_cls, dtype):
    fused, opt = run(opt_cls, TorchOps(dtype=dtype, device="cpu", fused=True))
    assert opt._kernel is not None  # the kernel ran, not core's arithmetic
    plain, opt = run(opt_cls, TorchOps(dtype=dtype, device="cpu", fused=False))
    assert opt._kernel is None
    for name in plain:
        np.testing.assert_allclose(fused[name], plain[name], **TOL[dtype], err_msg=name)


def test_only_adam_and_adamw_have_a_kernel():
    ops = TorchOps(dtype="float64", device="cpu", fused=True)
    assert ops.fused_update("sgd") is None and ops.fused_update("rmsprop") is None
    assert SGD(ops)._fused_step({}, {}, ["x"], 0.1) is False
