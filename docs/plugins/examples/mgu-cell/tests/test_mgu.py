"""The MGU cell: seqframe's cell conformance suite, plus an independent oracle (the GRU)."""

import numpy as np
from seqframe.engine.bptt import forward
from seqframe.cells import GRUCell
from seqframe.engine.model import Model, ModelConfig
from seqframe.testing import CellConformance
from seqframe_numpy.ops import NumpyOps

from seqframe_mgu.cell import MGUCell


# --8<-- [start:conformance]
class TestMGU(CellConformance):
    cell = MGUCell  # gradient-checked and compared with numpy on every installed backend
# --8<-- [end:conformance]


# --8<-- [start:oracle]
def test_an_mgu_is_a_gru_whose_update_gate_is_one_minus_its_reset_gate():
    """GRU with r = f and z = 1 - f (pre-activation -a, since sigmoid(-a) = 1 - sigmoid(a))."""
    ops = NumpyOps(dtype="float64")
    shape = dict(input_size=3, hidden_size=4, output_size=2, readout="every_step", loss="mse")
    mgu = Model(ModelConfig(cell="mgu", **shape), MGUCell())
    gru = Model(ModelConfig(cell="gru", **shape), GRUCell())
    p = mgu.init_params(0)
    q = dict(p)
    for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
        f, n = np.split(p[name], 2)  # MGU blocks f, n -> GRU blocks r, z, n
        q[name] = np.concatenate([f, -f, n])
    x = np.random.default_rng(1).normal(size=(2, 6, 3))  # (B, T, D)
    out_mgu, _ = forward(mgu, ops, p, x)
    out_gru, _ = forward(gru, ops, q, x)
    assert np.allclose(out_mgu, out_gru, rtol=1e-12, atol=1e-12)
# --8<-- [end:oracle]
