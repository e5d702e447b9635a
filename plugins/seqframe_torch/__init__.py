"""The PyTorch backend of seqframe: the same models on CPU, CUDA or MPS, with fused kernels.

This package must stay importable without PyTorch: seqframe discovers it (``seqframe plugins``,
``seqframe backends``) by importing :mod:`seqframe_torch.plugin`, which registers the backend by
its lazy import string. torch is imported only by :mod:`seqframe_torch.ops` and the modules it
uses, when a user selects ``--backend torch``.
"""

INSTALL_HINT = "pip install 'seqframe[torch]'"

__all__ = ["INSTALL_HINT"]
