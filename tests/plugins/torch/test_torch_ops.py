"""TorchOps against NumPy as the oracle: every Ops method, dtypes, transfer, the run-log line."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from seqframe_torch.ops import TorchOps  # noqa: E402

from seqframe.errors import ConfigError  # noqa: E402


@pytest.fixture(params=["float32", "float64"])
def ops(request):
    return TorchOps(dtype=request.param, device="cpu")


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def close(ops, got, want):
    tol = 1e-6 if ops.dtype == "float32" else 1e-13
    np.testing.assert_allclose(ops.to_numpy(got), want, rtol=tol, atol=tol)


UNARY = {
    "tanh": np.tanh,
    "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
    "exp": np.exp,
    "abs": np.abs,
    "sign": np.sign,
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_elementwise_matches_numpy(ops, rng, name):
    x = rng.normal(size=(3, 4)) * 3
    got = getattr(ops, name)(ops.asarray(x))
    assert got.dtype == ops.float_dtype
    close(ops, got, UNARY[name](x))


def test_log_and_sqrt_on_positive_input(ops, rng):
    x = rng.uniform(0.1, 5.0, size=(5,))
    close(ops, ops.log(ops.asarray(x)), np.log(x))
    close(ops, ops.sqrt(ops.asarray(x)), np.sqrt(x))


def test_sigmoid_does_not_overflow(ops):
    x = ops.asarray([-1000.0, 0.0, 1000.0])
    np.testing.assert_array_equal(ops.to_numpy(ops.sigmoid(x)), [0.0, 0.5, 1.0])


def test_maximum_minimum_clip_with_scalars_and_arrays(ops, rng):
    x, y = rng.normal(size=(4,)), rng.normal(size=(4,))
    tx, ty = ops.asarray(x), ops.asarray(y)
    close(ops, ops.maximum(tx, 0.1), np.maximum(x, 0.1))
    close(ops, ops.minimum(tx, 0.1), np.minimum(x, 0.1))
    close(ops, ops.maximum(tx, ty), np.maximum(x, y))
    close(ops, ops.minimum(tx, ty), np.minimum(x, y))
    close(ops, ops.clip(tx, -0.5, 0.5), np.clip(x, -0.5, 0.5))


def test_where_accepts_float_conditions_and_scalar_branches(ops):
    cond = ops.asarray([1.0, 0.0, 2.0])  # NumPy treats any nonzero value as true
    got = ops.where(cond, 1.0, 0.0)
    assert got.dtype == ops.float_dtype
    np.testing.assert_array_equal(ops.to_numpy(got), [1.0, 0.0, 1.0])
    x = ops.asarray([5.0, 6.0, 7.0])
    np.testing.assert_array_equal(ops.to_numpy(ops.where(cond, x, -1.0)), [5.0, -1.0, 7.0])


def test_isfinite(ops):
    x = ops.asarray([1.0, np.nan, np.inf, -np.inf])
    np.testing.assert_array_equal(ops.to_numpy(ops.isfinite(x)), [True, False, False, False])


@pytest.mark.parametrize("axis", [None, 0, 1, (0, 2), -1])
@pytest.mark.parametrize("keepdims", [False, True])
def test_sum_and_max_match_numpy(ops, rng, axis, keepdims):
    x = rng.normal(size=(2, 3, 4))
    tx = ops.asarray(x)
    close(ops, ops.sum(tx, axis=axis, keepdims=keepdims), np.sum(x, axis=axis, keepdims=keepdims))
    if not isinstance(axis, tuple):
        close(
            ops, ops.max(tx, axis=axis, keepdims=keepdims), np.max(x, axis=axis, keepdims=keepdims)
        )


def test_argmax(ops, rng):
    x = rng.normal(size=(3, 5))
    np.testing.assert_array_equal(ops.to_numpy(ops.argmax(ops.asarray(x))), np.argmax(x, -1))
    np.testing.assert_array_equal(ops.to_numpy(ops.argmax(ops.asarray(x), 0)), np.argmax(x, 0))


def test_matmul_reshape_permute_and_transpose(ops, rng):
    a, b = rng.normal(size=(2, 3, 4)), rng.normal(size=(4, 5))
    ta, tb = ops.asarray(a), ops.asarray(b)
    close(ops, ops.matmul(ta, tb), a @ b)
    close(ops, ta @ tb, a @ b)
    close(ops, ops.reshape(ta, (6, 4)), a.reshape(6, 4))
    close(ops, ops.permute_dims(ta, (2, 0, 1)), np.transpose(a, (2, 0, 1)))
    close(ops, tb.T, b.T)


def test_concat_stack_split(ops, rng):
    a, b = rng.normal(size=(2, 3)), rng.normal(size=(2, 5))
    ta, tb = ops.asarray(a), ops.asarray(b)
    close(ops, ops.concat([ta, tb], axis=1), np.concatenate([a, b], axis=1))
    close(ops, ops.stack([ta, ta], axis=1), np.stack([a, a], axis=1))
    parts = ops.split(ops.concat([ta, tb], axis=-1), [3, 5], axis=-1)
    assert [tuple(p.shape) for p in parts] == [(2, 3), (2, 5)]
    close(ops, parts[1], b)


def test_take_keeps_the_index_shape_like_numpy(ops, rng):
    x = rng.normal(size=(4, 5, 3))
    idx = np.array([[0, 4], [2, 2]])
    got = ops.take(ops.asarray(x), ops.asarray(idx, dtype="int64"), axis=1)
    close(ops, got, np.take(x, idx, axis=1))
    close(ops, ops.take(ops.asarray(x), idx[1], axis=-1), np.take(x, idx[1], axis=-1))


def test_take_along_axis_and_one_hot(ops, rng):
    x = rng.normal(size=(3, 4, 6))
    idx = rng.integers(0, 6, size=(3, 4, 1))
    got = ops.take_along_axis(ops.asarray(x), ops.asarray(idx, dtype="int64"), axis=-1)
    close(ops, got, np.take_along_axis(x, idx, axis=-1))
    labels = rng.integers(0, 6, size=(3, 4))
    hot = ops.one_hot(ops.asarray(labels, dtype="int64"), 6)
    assert hot.dtype == ops.float_dtype
    np.testing.assert_array_equal(ops.to_numpy(hot), np.eye(6)[labels])


def test_slice_assignment_and_scalar_operators(ops):
    out = ops.zeros((2, 3))
    out[:, 1] = ops.asarray([1.0, 2.0])
    y = 2.0 * out**2 - out / 4.0 + 1.0
    np.testing.assert_allclose(ops.to_numpy(y)[:, 1], [2.75, 8.5])


def test_asarray_dtypes_and_devices(ops):
    # dtype None keeps the kind, like the numpy backend: floats, int64 class ids, bool masks
    assert ops.asarray([1.0, 2]).dtype == ops.float_dtype
    assert ops.asarray([1, 2]).dtype == torch.int64
    assert ops.asarray(np.array([True])).dtype == torch.bool
    assert ops.asarray(torch.tensor([1, 2], dtype=torch.int32)).dtype == torch.int64
    assert ops.asarray(np.array([1, 2]), dtype="int64").dtype == torch.int64
    assert ops.asarray(np.array([True, False]), dtype="bool").dtype == torch.bool
    t = ops.asarray(torch.ones(2, dtype=torch.float16))
    assert t.dtype == ops.float_dtype and t.device.type == "cpu"
    assert ops.zeros((2,), dtype="int64").dtype == torch.int64
    assert ops.zeros_like(ops.asarray(np.ones((2, 3)))).shape == (2, 3)


def test_asarray_copies_host_data_and_accepts_read_only_buffers(ops):
    host = np.zeros(3, dtype=ops.dtype)
    t = ops.asarray(host)
    t += 1.0  # an in-place update must never reach the caller's array
    assert host.sum() == 0.0
    frozen = np.arange(3, dtype=np.float64)
    frozen.flags.writeable = False
    np.testing.assert_array_equal(ops.to_numpy(ops.asarray(frozen)), [0.0, 1.0, 2.0])


def test_asarray_rejects_non_numeric_data(ops):
    with pytest.raises(ConfigError, match="not numeric data"):
        ops.asarray([object()])


def test_unknown_array_dtype_is_a_config_error(ops):
    with pytest.raises(ConfigError, match="unknown array dtype 'int8'"):
        ops.zeros((2,), dtype="int8")


def test_to_numpy_is_an_independent_copy_and_item_is_a_float(ops):
    t = ops.asarray([1.0, 2.0])
    host = ops.to_numpy(t)
    t[0] = 5.0
    assert host[0] == 1.0 and host.dtype == np.dtype(ops.dtype)
    value = ops.item(ops.sum(t))
    assert isinstance(value, float) and value == 7.0
    assert ops.to_numpy(torch.ones(2, dtype=torch.bfloat16)).dtype == np.float32


def test_copy_is_independent(ops):
    t = ops.asarray([1.0])
    c = ops.copy(t)
    c[0] = 3.0
    assert ops.item(t) == 1.0


def test_unknown_float_dtype_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown dtype 'float16'"):
        TorchOps(dtype="float16", device="cpu")


def test_describe_names_backend_dtype_device_and_path():
    ops = TorchOps(dtype="float64", device="cpu", fused=False)
    text = ops.describe()
    assert text.startswith("torch float64 on cpu (")
    assert "generic BPTT" in text and "amp off" in text
