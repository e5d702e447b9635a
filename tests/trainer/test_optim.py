"""Optimizers: hand-computed single steps, torch.optim as the oracle over several steps, errors."""

import math

import numpy as np
import pytest
from seqframe_numpy.ops import NumpyOps

from seqframe.config import RunConfig
from seqframe.errors import ConfigError, UnknownNameError
from seqframe.training.optim import OPTIMIZERS, SGD, Adagrad, Adam, AdamW, RMSprop, build_optimizer

OPS = NumpyOps(dtype="float64")


def one_step(opt, p, g, lr):
    params = {"w": np.array(p, dtype=np.float64)}
    opt.step(params, {"w": np.array(g, dtype=np.float64)}, lr)
    return params["w"]


def test_sgd_plain_step_is_p_minus_lr_g_plus_l2():
    out = one_step(SGD(OPS, weight_decay=0.1), [1.0, -2.0], [0.5, 0.25], lr=0.1)
    # g + wd*p = [0.6, 0.05]; p - 0.1*that
    np.testing.assert_allclose(out, [0.94, -2.005])


def test_sgd_momentum_and_nesterov_two_steps_by_hand():
    opt = SGD(OPS, momentum=0.9)
    params = {"w": np.array([1.0])}
    opt.step(params, {"w": np.array([1.0])}, 0.1)  # b = 1 -> p = 0.9
    opt.step(params, {"w": np.array([2.0])}, 0.1)  # b = 0.9 + 2 = 2.9 -> p = 0.61
    np.testing.assert_allclose(params["w"], [0.61])
    nest = SGD(OPS, momentum=0.9, nesterov=True)
    params = {"w": np.array([1.0])}
    nest.step(params, {"w": np.array([1.0])}, 0.1)  # b = 1, step = 1 + 0.9 = 1.9 -> 0.81
    np.testing.assert_allclose(params["w"], [0.81])


def test_adam_first_step_moves_by_lr_times_sign():
    # After bias correction m_hat = g, v_hat = g^2, so the step is lr * g / (|g| + eps).
    out = one_step(Adam(OPS, eps=1e-8), [1.0, 1.0], [3.0, -0.5], lr=0.01)
    np.testing.assert_allclose(out, [1.0 - 0.01 * 3 / (3 + 1e-8), 1.0 + 0.01 * 0.5 / (0.5 + 1e-8)])


def test_adamw_decouples_decay_from_adaptive_scaling():
    out = one_step(AdamW(OPS, weight_decay=0.5), [2.0], [1.0], lr=0.1)
    np.testing.assert_allclose(out, [2.0 * (1 - 0.1 * 0.5) - 0.1 * 1 / (1 + 1e-8)])
    coupled = one_step(Adam(OPS, weight_decay=0.5), [2.0], [1.0], lr=0.1)
    # Coupled L2 goes through the normalisation: the first step is still just lr.
    np.testing.assert_allclose(coupled, [2.0 - 0.1 * 2 / (2 + 1e-8)])


def test_rmsprop_and_adagrad_first_steps_by_hand():
    out = one_step(RMSprop(OPS, eps=1e-8), [1.0], [2.0], lr=0.01)
    v = 0.01 * 4.0
    np.testing.assert_allclose(out, [1.0 - 0.01 * 2.0 / (math.sqrt(v) + 1e-8)])
    out = one_step(Adagrad(OPS, eps=1e-10), [1.0], [2.0], lr=0.1)
    np.testing.assert_allclose(out, [1.0 - 0.1 * 2.0 / (2.0 + 1e-10)])


TORCH_CASES = [
    ("sgd", dict(momentum=0.0), dict(momentum=0.0, weight_decay=0.01)),
    ("sgd", dict(momentum=0.9, nesterov=True),
     dict(momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("adam", dict(), dict(betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)),
    ("adamw", dict(), dict(betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)),
    ("rmsprop", dict(), dict(alpha=0.99, eps=1e-8, weight_decay=0.01)),
    ("adagrad", dict(), dict(eps=1e-8, weight_decay=0.01)),
]


@pytest.mark.parametrize("name, ours, theirs", TORCH_CASES)
def test_matches_torch_optim_over_several_steps(name, ours, theirs):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    init = {"a": rng.normal(size=(3, 4)), "b": rng.normal(size=(4,))}
    grads_seq = [{k: rng.normal(size=v.shape) for k, v in init.items()} for _ in range(6)]
    lrs = [0.1, 0.05, 0.05, 0.02, 0.1, 0.01]
    config = RunConfig(optimizer=name, weight_decay=0.01, eps=1e-8, **ours)
    opt = build_optimizer(config, OPS)
    params = {k: v.copy() for k, v in init.items()}
    tparams = [torch.tensor(init[k], dtype=torch.float64, requires_grad=True) for k in init]
    topt = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW,
            "rmsprop": torch.optim.RMSprop, "adagrad": torch.optim.Adagrad}[name](
        tparams, lr=lrs[0], **theirs)
    for grads, lr in zip(grads_seq, lrs, strict=True):
        opt.step(params, grads, lr)
        for group in topt.param_groups:
            group["lr"] = lr
        for tp, key in zip(tparams, init, strict=True):
            tp.grad = torch.tensor(grads[key], dtype=torch.float64)
        topt.step()
    for tp, key in zip(tparams, init, strict=True):
        np.testing.assert_allclose(params[key], tp.detach().numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_state_dict_round_trip_continues_identically(name):
    rng = np.random.default_rng(1)
    grads = [{"w": rng.normal(size=(5,))} for _ in range(4)]
    config = RunConfig(optimizer=name, momentum=0.9)
    straight = build_optimizer(config, OPS)
    p1 = {"w": np.ones(5)}
    for g in grads:
        straight.step(p1, g, 0.05)
    first = build_optimizer(config, OPS)
    p2 = {"w": np.ones(5)}
    for g in grads[:2]:
        first.step(p2, g, 0.05)
    tensors, meta = first.state_dict()
    tensors = {k: v.copy() for k, v in tensors.items()}  # what a checkpoint hands back
    second = build_optimizer(config, OPS)
    second.load_state_dict(tensors, meta)
    for g in grads[2:]:
        second.step(p2, g, 0.05)
    np.testing.assert_array_equal(p1["w"], p2["w"])


def test_unknown_optimizer_lists_the_known_ones():
    with pytest.raises(UnknownNameError, match=r"unknown optimizer 'adamx'; did you mean 'adam"):
        build_optimizer(RunConfig(optimizer="adamx"), OPS)


def test_out_of_range_hyper_parameters_are_config_errors():
    with pytest.raises(ConfigError, match=r"--momentum must be at least 0 and below 1"):
        build_optimizer(RunConfig(optimizer="sgd", momentum=1.5), OPS)
    with pytest.raises(ConfigError, match=r"--beta2 must be at least 0"):
        build_optimizer(RunConfig(optimizer="adam", beta2=-0.1), OPS)
    with pytest.raises(ConfigError, match=r"--weight-decay must be at least 0"):
        build_optimizer(RunConfig(optimizer="adam", weight_decay=-1.0), OPS)
    with pytest.raises(ConfigError, match=r"Nesterov momentum needs --momentum > 0"):
        build_optimizer(RunConfig(optimizer="sgd", momentum=0.0, nesterov=True), OPS)


def test_loading_state_of_another_optimizer_is_refused():
    tensors, meta = build_optimizer(RunConfig(optimizer="sgd"), OPS).state_dict()
    with pytest.raises(ConfigError, match=r"holds 'sgd' optimizer state but this run uses 'adam'"):
        build_optimizer(RunConfig(optimizer="adam"), OPS).load_state_dict(tensors, meta)


def test_float32_state_stays_float32():
    ops = NumpyOps(dtype="float32")
    opt = Adam(ops)
    params = {"w": ops.asarray(np.ones(3))}
    opt.step(params, {"w": ops.asarray(np.full(3, 0.5))}, 0.1)
    assert params["w"].dtype == np.float32
    assert opt.state["exp_avg_sq"]["w"].dtype == np.float32
