"""Registers the ``torch`` backend without importing torch (listing plugins stays cheap)."""

from seqframe import hookimpl


@hookimpl
def seqframe_register_backends(register):
    register(
        "torch",
        "seqframe_torch.ops:TorchOps",
        "PyTorch on CPU/CUDA/MPS; fused cuDNN/oneDNN kernels for rnn, lstm, gru "
        "(needs pip install 'seqframe[torch]')",
    )
