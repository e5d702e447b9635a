"""Device and autocast selection: what exists is used, what does not is a clear ConfigError."""

import pytest

torch = pytest.importorskip("torch")

from seqframe_torch import device as dev  # noqa: E402
from seqframe_torch.ops import FUSED_ENV, TorchOps, fused_from_env  # noqa: E402

from seqframe.errors import ConfigError  # noqa: E402


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(dev, "_mps_available", lambda: False)


@pytest.fixture
def one_gpu(monkeypatch):
    """Pretend one CUDA device exists (nothing is allocated on it by these tests)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)


def test_auto_is_cpu_without_accelerators(no_gpu):
    assert dev.resolve_device("auto") == torch.device("cpu")
    assert TorchOps(device="auto").device == "cpu"


def test_auto_prefers_cuda_then_mps(one_gpu, monkeypatch):
    assert dev.resolve_device("auto") == torch.device("cuda", 0)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(dev, "_mps_available", lambda: True)
    assert dev.resolve_device("auto") == torch.device("mps")


def test_cuda_without_cuda_says_what_is_available(no_gpu):
    with pytest.raises(ConfigError, match=r"device 'cuda' was requested.*Available devices: cpu\."):
        TorchOps(device="cuda")


def test_cuda_index_out_of_range(one_gpu):
    assert dev.resolve_device("cuda:0") == torch.device("cuda", 0)
    with pytest.raises(ConfigError, match=r"only 1 CUDA device\(s\) are visible.*cuda:0"):
        dev.resolve_device("cuda:3")


def test_mps_missing_and_mps_float64(no_gpu, monkeypatch):
    with pytest.raises(ConfigError, match="MPS backend is not available"):
        dev.resolve_device("mps")
    monkeypatch.setattr(dev, "_mps_available", lambda: True)
    with pytest.raises(ConfigError, match="float64 is not supported on the mps device"):
        dev.resolve_device("mps", "float64")


@pytest.mark.parametrize("spec", ["tpu", "cuda:x", "gpu0", ""])
def test_unknown_device_spelling(spec):
    if spec == "":
        assert dev.resolve_device(spec).type in ("cpu", "cuda", "mps")  # empty means auto
        return
    with pytest.raises(
        ConfigError, match="unknown device .*expected auto, cpu, cuda, cuda:N or mps"
    ):
        dev.resolve_device(spec)


def test_cpu_has_no_index():
    assert dev.resolve_device("CPU") == torch.device("cpu")
    with pytest.raises(ConfigError, match="the CPU has no index"):
        dev.resolve_device("cpu:1")


def test_amp_needs_cuda():
    with pytest.raises(ConfigError, match="amp 'bf16' .*needs a CUDA device.*uses cpu"):
        TorchOps(device="cpu", amp="bf16")
    assert TorchOps(device="cpu", amp="off").amp_dtype is None


def test_unknown_amp_mode():
    with pytest.raises(
        ConfigError, match="unknown amp mode 'int8'; expected one of off, bf16, fp16"
    ):
        dev.resolve_amp("int8", torch.device("cpu"), "float32")


def test_amp_on_cuda_needs_float32(one_gpu):
    cuda = torch.device("cuda", 0)
    assert dev.resolve_amp("fp16", cuda, "float32") is torch.float16
    assert dev.resolve_amp("bf16", cuda, "float32") is torch.bfloat16
    with pytest.raises(ConfigError, match="amp 'fp16' needs dtype float32"):
        dev.resolve_amp("fp16", cuda, "float64")


def test_bf16_refused_on_gpus_without_it(one_gpu, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a: "Old GPU")
    with pytest.raises(ConfigError, match="amp 'bf16' is not supported by the GPU Old GPU"):
        dev.resolve_amp("bf16", torch.device("cuda", 0), "float32")


def test_fused_switch_from_argument_and_environment(monkeypatch):
    monkeypatch.delenv(FUSED_ENV, raising=False)
    assert fused_from_env(None) is True
    assert fused_from_env(False) is False
    monkeypatch.setenv(FUSED_ENV, "0")
    assert fused_from_env(None) is False and TorchOps(device="cpu").fused is False
    assert fused_from_env(True) is True
    monkeypatch.setenv(FUSED_ENV, "maybe")
    with pytest.raises(ConfigError, match="SEQFRAME_TORCH_FUSED='maybe' is not understood"):
        TorchOps(device="cpu")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_real_cuda_device_round_trip():
    ops = TorchOps(device="cuda", amp="bf16")
    x = ops.asarray([[1.0, 2.0]])
    assert x.device.type == "cuda"
    y = ops.matmul(x, ops.asarray([[1.0], [1.0]]))
    assert y.dtype == torch.float32 and ops.item(y) == 3.0
