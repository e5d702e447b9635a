"""The minGRU cell: the cell conformance suite, plus the paper's parallel mode as an oracle."""

import numpy as np
from seqframe.cells import GRUCell
from seqframe.engine.bptt import forward
from seqframe.engine.model import Model, ModelConfig
from seqframe.testing import CellConformance
from seqframe_numpy.ops import NumpyOps

from seqframe_mingru.cell import MinGRUCell

SHAPE = dict(input_size=3, hidden_size=4, output_size=2, readout="every_step", loss="mse")


# --8<-- [start:conformance]
class TestMinGRU(CellConformance):
    cell = MinGRUCell  # no W_hh: the suite checks hp = None and the missing parameters too
# --8<-- [end:conformance]


def parallel_mode(p, x, h0):
    """Feng et al.'s parallel form: h_t = a_t * h_{t-1} + b_t with a = 1 - z, b = z * h~ is
    h_t = P_t * (h_0 + sum_{k <= t} b_k / P_k), P_t = a_1 ... a_t (a scan, no loop over h)."""
    hidden = h0.shape[-1]
    xp = x @ p["weight_ih_l0"].T + p["bias_ih_l0"]  # (B, T, 2H), every step at once
    z = 1.0 / (1.0 + np.exp(-xp[..., :hidden]))
    a, b = 1.0 - z, z * xp[..., hidden:]
    prods = np.cumprod(a, axis=1)  # (B, T, H): P_t
    return prods * (h0[:, None, :] + np.cumsum(b / prods, axis=1))  # (B, T, H)


def test_the_sequential_cell_equals_the_papers_parallel_mode():
    model = Model(ModelConfig(cell="mingru", **SHAPE), MinGRUCell())
    p = model.init_params(0)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 6, 3))  # (B, T, D)
    h0 = rng.normal(size=(2, 4))  # a carried state, not zeros
    state = (((h0,),),)  # layers, directions, the cell's state tuple
    out, final = forward(model, NumpyOps(dtype="float64"), p, x, state=state)
    h = parallel_mode(p, x, h0)
    assert np.allclose(out, h @ p["readout.weight"].T + p["readout.bias"], rtol=1e-12,
                       atol=1e-12)
    assert np.allclose(final[0][0][0], h[:, -1], rtol=1e-12, atol=1e-12)


def test_no_dead_recurrent_matrix():
    mingru = Model(ModelConfig(cell="mingru", **SHAPE), MinGRUCell())
    layer = {k for k in mingru.param_shapes() if k.endswith("_l0")}
    assert layer == {"weight_ih_l0", "bias_ih_l0"}
    # charlm's shape (V = 66 one-hot inputs, H = 256): one layer of 2H(D + 1) parameters,
    # where a cell forced into a dense-recurrent layout would add 2H(H + 1) that never learn.
    charlm = ModelConfig(cell="mingru", input_size=66, hidden_size=256, output_size=66)
    shapes = Model(charlm, MinGRUCell()).param_shapes()
    assert shapes["weight_ih_l0"] == (512, 66) and "weight_hh_l0" not in shapes
    assert sum(np.prod(s) for s in shapes.values()) == 2 * 256 * 67 + 66 * 257
    gru = Model(ModelConfig(cell="gru", input_size=66, hidden_size=256, output_size=66),
                GRUCell())
    assert sum(np.prod(s) for s in gru.param_shapes().values()) == 3 * 256 * (66 + 256 + 2) \
        + 66 * 257


def test_init_is_torch_linear():
    p = MinGRUCell().init_params(np.random.default_rng(0), 25, 100)
    assert p["weight_ih"].shape == (200, 25) and p["bias_ih"].shape == (200,)
    assert np.abs(p["weight_ih"]).max() <= 1 / 5 and np.abs(p["bias_ih"]).max() <= 1 / 5
    assert np.abs(p["weight_ih"]).max() > 0.19  # U(-1/sqrt(D), 1/sqrt(D)), D = 25, not 1/sqrt(H)
