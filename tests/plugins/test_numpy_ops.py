"""The NumPy backend against the Ops contract, checked with hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest
from seqframe_numpy import NumpyOps
from seqframe_numpy import plugin as numpy_plugin

from seqframe.errors import ConfigError


@pytest.fixture(params=["float32", "float64"])
def ops(request):
    return NumpyOps(request.param)


def test_registers_the_numpy_backend_lazily():
    registered = []
    numpy_plugin.seqframe_register_backends(lambda *args: registered.append(args))
    assert [r[:2] for r in registered] == [("numpy", "seqframe_numpy.ops:NumpyOps")]


def test_the_registry_finds_it():
    from seqframe.plugins import get_registry

    assert get_registry().load("backend", "numpy") is NumpyOps


def test_unknown_dtype_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown dtype 'float16'"):
        NumpyOps("float16")
    with pytest.raises(ConfigError, match="unknown dtype 'int8'; expected one of int64, bool"):
        NumpyOps("float32").asarray([1], dtype="int8")


def test_a_gpu_device_is_refused_with_a_way_out():
    with pytest.raises(ConfigError, match="host CPU only; got device 'cuda:0'.*--backend torch"):
        NumpyOps("float32", device="cuda:0")
    assert NumpyOps("float32", device="auto").device == "cpu"


def test_asarray_follows_the_data_kind(ops):
    assert ops.asarray(np.ones(3, np.float64)).dtype == np.dtype(ops.dtype)
    assert ops.asarray(np.ones(3, np.float32)).dtype == np.dtype(ops.dtype)
    assert ops.asarray(np.arange(3, dtype=np.int32)).dtype == np.int64
    assert ops.asarray(np.array([True])).dtype == np.bool_
    assert ops.asarray(0.5).dtype == np.dtype(ops.dtype)
    assert ops.asarray([1.7, 2.2], dtype="int64").tolist() == [1, 2]
    assert ops.asarray([0, 2], dtype="bool").tolist() == [False, True]
    assert ops.asarray([1, 2], dtype="float64").dtype == np.float64


def test_asarray_does_not_copy_what_already_fits(ops):
    host = np.arange(6, dtype=ops.dtype).reshape(2, 3)
    assert ops.asarray(host) is host
    assert ops.to_numpy(host) is host


def test_copy_is_independent_and_contiguous(ops):
    x = ops.asarray(np.arange(6.0).reshape(2, 3))
    c = ops.copy(ops.permute_dims(x, (1, 0)))
    c[0, 0] = 100.0
    assert x[0, 0] == 0.0
    assert c.flags["C_CONTIGUOUS"] and c.tolist()[1] == [1.0, 4.0]


def test_sigmoid_matches_the_logistic_function(ops):
    x = np.linspace(-8, 8, 33)
    expected = 1.0 / (1.0 + np.exp(-x))
    got = ops.sigmoid(ops.asarray(x))
    assert got.dtype == np.dtype(ops.dtype)
    np.testing.assert_allclose(got, expected, rtol=1e-6 if ops.dtype == "float32" else 1e-13,
                               atol=1e-7 if ops.dtype == "float32" else 1e-15)


def test_sigmoid_does_not_overflow(ops):
    # filterwarnings=error turns an overflow RuntimeWarning into a failure.
    got = ops.sigmoid(ops.asarray(np.array([-1e4, -800.0, 0.0, 800.0, 1e4])))
    assert got.tolist() == [0.0, 0.0, 0.5, 1.0, 1.0]


def test_elementwise(ops):
    x = ops.asarray(np.array([-2.0, -0.5, 0.0, 1.5]))
    assert ops.abs(x).tolist() == [2.0, 0.5, 0.0, 1.5]
    assert ops.sign(x).tolist() == [-1.0, -1.0, 0.0, 1.0]
    assert ops.maximum(x, 0.0).tolist() == [0.0, 0.0, 0.0, 1.5]
    assert ops.minimum(x, 0.0).tolist() == [-2.0, -0.5, 0.0, 0.0]
    assert ops.clip(x, -1.0, 1.0).tolist() == [-1.0, -0.5, 0.0, 1.0]
    np.testing.assert_allclose(ops.exp(ops.log(ops.asarray([1.0, 4.0]))), [1.0, 4.0], rtol=1e-6)
    assert ops.sqrt(ops.asarray([9.0])).tolist() == [3.0]
    np.testing.assert_allclose(ops.tanh(ops.asarray([0.5])), [np.tanh(0.5)], rtol=1e-6)
    w = ops.where(x > 0, 1.0, 0.0)
    assert w.tolist() == [0.0, 0.0, 0.0, 1.0] and w.dtype == np.dtype(ops.dtype)
    assert ops.isfinite(ops.asarray([1.0, np.inf, np.nan])).tolist() == [True, False, False]


def test_reductions(ops):
    x = ops.asarray(np.array([[1.0, 5.0, 2.0], [4.0, 0.0, 3.0]]))
    assert ops.sum(x).item() == 15.0
    assert ops.sum(x, axis=0).tolist() == [5.0, 5.0, 5.0]
    assert ops.sum(x, axis=1, keepdims=True).shape == (2, 1)
    assert ops.max(x, axis=1).tolist() == [5.0, 4.0]
    assert ops.argmax(x, axis=-1).tolist() == [1, 0]
    assert ops.item(ops.sum(x)) == 15.0


def test_shapes_and_indexing(ops):
    x = ops.asarray(np.arange(24.0).reshape(2, 3, 4))
    assert ops.permute_dims(x, (1, 0, 2)).shape == (3, 2, 4)
    assert ops.reshape(x, (6, 4))[5].tolist() == [20.0, 21.0, 22.0, 23.0]
    a, b = ops.split(x, [1, 3], axis=-1)
    assert a.shape == (2, 3, 1) and b.shape == (2, 3, 3)
    assert ops.concat([a, b], axis=-1).tolist() == x.tolist()
    assert ops.stack([a, a], axis=0).shape == (2, 2, 3, 1)
    idx = ops.asarray(np.array([2, 0]))
    assert ops.take(x[0], idx, axis=1).tolist() == [[2.0, 0.0], [6.0, 4.0], [10.0, 8.0]]
    picked = ops.take_along_axis(x[0], ops.asarray(np.array([[3], [0], [1]])), axis=1)
    assert picked.tolist() == [[3.0], [4.0], [9.0]]
    assert ops.matmul(ops.asarray([[1.0, 2.0]]), ops.asarray([[3.0], [4.0]])).tolist() == [[11.0]]


def test_one_hot(ops):
    got = ops.one_hot(ops.asarray(np.array([[2, 0]])), 3)
    assert got.dtype == np.dtype(ops.dtype)
    assert got.tolist() == [[[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]]


def test_zeros(ops):
    assert ops.zeros((2, 3)).dtype == np.dtype(ops.dtype)
    assert ops.zeros((2,), dtype="int64").dtype == np.int64
    assert ops.zeros_like(ops.asarray(np.ones((4, 1)))).shape == (4, 1)
    assert ops.describe() == f"numpy {ops.dtype} on cpu"
