"""Layer-normalised LSTM and GRU (Ba, Kiros & Hinton 2016) for ``--layer-norm``.

Layer normalisation of a (B, K*H) pre-activation, one H-wide block at a time (each gate's block
has its own mean and variance over its H units, per row)::

    LN(z; g, b) = (z - mean(z)) / sqrt(var(z) + eps) * g + b      eps = 1e-5 (torch.nn.LayerNorm)

Ba et al. normalise the input and the recurrent pre-activations separately, so their scales
cannot drown each other out, and, in the LSTM, the cell state before its tanh. The gains ``g`` and
biases ``b`` are the cells' own parameters (:meth:`seqframe.cells.Cell.own_param_shapes`), named
like PyTorch's weights with an ``ln_`` prefix: ``ln_weight_ih``/``ln_bias_ih`` (G*H,),
``ln_weight_hh``/``ln_bias_hh`` (G*H,), and for the LSTM ``ln_weight_c``/``ln_bias_c`` (H,).

The cells set ``bias = False``: the engine still hoists ``xp = x @ W_ih.T`` out of the time loop
(one GEMM per window) and computes ``hp = h @ W_hh.T``, without ``b_ih``/``b_hh``, which inside
the normalisation would be normalised away -- worse, at a zero state ``hp`` would be ``b_hh``
alone, a constant block whose normalisation has slope ``1/sqrt(eps)``. As in the paper, the
biases come after the normalisation (the LN biases; ``ln_bias_ih + ln_bias_hh`` is the paper's
``b``).

The torch backend's fused kernels (cuDNN/oneDNN) have no layer normalisation, so these cells
always run the generic hand-written BPTT: the backend picks its kernels by exact class, and
these are classes of their own.
"""

from __future__ import annotations

import math

import numpy as np

from ..ops import Array, Ops
from .base import Cell, State

EPS = 1e-5  # torch.nn.LayerNorm's default: keeps a constant block (variance 0) finite


def layer_norm(ops: Ops, z: Array, gain: Array, bias: Array, blocks: int) -> tuple[Array, tuple]:
    """``LN(z)`` per H-wide block of ``z`` (B, K*H), scaled by ``gain`` and shifted by ``bias``.

    Returns:
        The normalised (B, K*H) array and the cache :func:`layer_norm_backward` needs.
    """
    batch, width = z.shape
    hidden = width // blocks
    zb = ops.reshape(z, (batch, blocks, hidden))  # (B, K, H)
    centred = zb - ops.sum(zb, axis=2, keepdims=True) * (1.0 / hidden)
    variance = ops.sum(centred * centred, axis=2, keepdims=True) * (1.0 / hidden)  # (B, K, 1)
    inv_std = 1.0 / ops.sqrt(variance + EPS)  # (B, K, 1)
    z_hat = ops.reshape(centred * inv_std, (batch, width))  # (B, K*H), mean 0, variance ~1
    return z_hat * gain + bias, (z_hat, inv_std, gain)


def layer_norm_backward(ops: Ops, d_out: Array, cache: tuple) -> tuple[Array, Array, Array]:
    """The derivative of :func:`layer_norm`: ``(d_z, d_gain, d_bias)``.

    With ``g = d_out * gain`` per block and ``z_hat`` the normalised input, the mean and the
    variance both depend on every unit of the block, which gives the two correction terms::

        d_z = inv_std * (g - mean(g) - z_hat * mean(g * z_hat))
    """
    z_hat, inv_std, gain = cache
    batch, width = z_hat.shape
    blocks = inv_std.shape[1]
    hidden = width // blocks
    d_gain = ops.sum(d_out * z_hat, axis=0)  # (K*H,)
    d_bias = ops.sum(d_out, axis=0)  # (K*H,)
    g = ops.reshape(d_out * gain, (batch, blocks, hidden))  # (B, K, H) dL/dz_hat
    zb = ops.reshape(z_hat, (batch, blocks, hidden))
    mean_g = ops.sum(g, axis=2, keepdims=True) * (1.0 / hidden)
    mean_gz = ops.sum(g * zb, axis=2, keepdims=True) * (1.0 / hidden)
    d_z = ops.reshape((g - mean_g - zb * mean_gz) * inv_std, (batch, width))  # (B, K*H)
    return d_z, d_gain, d_bias


def _norm_shapes(width: int, prefixes: tuple[str, ...]) -> dict[str, tuple[int, ...]]:
    return {f"ln_{kind}_{p}": (width,) for p in prefixes for kind in ("weight", "bias")}


class _LayerNormInit:
    """Init shared by both cells: PyTorch's U(-1/sqrt(H), 1/sqrt(H)) for ``W_ih`` and ``W_hh``,
    LN gains 1 and LN biases 0 (``torch.nn.LayerNorm``'s)."""

    def init_params(self, rng: np.random.Generator, input_size: int,
                    hidden_size: int) -> dict[str, np.ndarray]:
        bound = 1.0 / math.sqrt(hidden_size)
        params = {}
        for name, shape in self.param_shapes(input_size, hidden_size).items():
            if name.startswith("weight_"):
                params[name] = rng.uniform(-bound, bound, size=shape)
            elif name.startswith("ln_weight_"):
                params[name] = np.ones(shape)
            else:  # the LN biases
                params[name] = np.zeros(shape)
        return params


class LayerNormLSTMCell(_LayerNormInit, Cell):
    """The LSTM of :class:`~seqframe.cells.LSTMCell` with layer normalisation (Ba et al. 2016).

    With ``xp = x @ W_ih.T`` and ``hp = h_{t-1} @ W_hh.T`` (B, 4H), gate order i, f, g, o, LN per
    gate block::

        z = LN(xp; ln_weight_ih, ln_bias_ih) + LN(hp; ln_weight_hh, ln_bias_hh)
        i = sigmoid(z_i)   f = sigmoid(z_f)   g = tanh(z_g)   o = sigmoid(z_o)
        c_t = f * c_{t-1} + i * g
        h_t = o * tanh(LN(c_t; ln_weight_c, ln_bias_c))

    Shapes (G = 4): ``weight_ih`` (4H, D), ``weight_hh`` (4H, H), no ``bias_ih``/``bias_hh``,
    ``ln_weight_ih``/``ln_bias_ih``/``ln_weight_hh``/``ln_bias_hh`` (4H,),
    ``ln_weight_c``/``ln_bias_c`` (H,). The state is ``(h, c)``, ``c`` un-normalised.
    """

    name = "ln-lstm"
    gates = 4
    bias = False
    state_names = ("h", "c")

    def own_param_shapes(self, input_size: int, hidden_size: int) -> dict[str, tuple[int, ...]]:
        return {**_norm_shapes(4 * hidden_size, ("ih", "hh")),
                **_norm_shapes(hidden_size, ("c",))}

    def step(self, ops: Ops, xp: Array, hp: Array, state: State,
             params: dict[str, Array]) -> tuple[State, tuple]:
        c_prev = state[1]
        hidden = c_prev.shape[-1]
        ax, cache_x = layer_norm(ops, xp, params["ln_weight_ih"], params["ln_bias_ih"], 4)
        ah, cache_h = layer_norm(ops, hp, params["ln_weight_hh"], params["ln_bias_hh"], 4)
        z = ax + ah  # (B, 4H) gate pre-activations
        act = ops.sigmoid(z)  # (B, 4H): i, f, g, o; the g block is overwritten with its tanh
        act[:, 2 * hidden : 3 * hidden] = ops.tanh(z[:, 2 * hidden : 3 * hidden])
        i, f = act[:, :hidden], act[:, hidden : 2 * hidden]
        g, o = act[:, 2 * hidden : 3 * hidden], act[:, 3 * hidden :]
        c = f * c_prev + i * g  # (B, H)
        c_norm, cache_c = layer_norm(ops, c, params["ln_weight_c"], params["ln_bias_c"], 1)
        tanh_c = ops.tanh(c_norm)
        h = o * tanh_c
        return (h, c), (act, c_prev, tanh_c, cache_x, cache_h, cache_c)

    def step_backward(self, ops: Ops, d_state: State, cache: tuple) -> tuple:
        act, c_prev, tanh_c, cache_x, cache_h, cache_c = cache
        d_h, d_c_next = d_state
        hidden = c_prev.shape[-1]
        i, f = act[:, :hidden], act[:, hidden : 2 * hidden]
        g, o = act[:, 2 * hidden : 3 * hidden], act[:, 3 * hidden :]
        # c_t reaches the loss directly (the next step) and through h_t = o * tanh(LN(c_t)).
        d_c_norm = d_h * o * (1.0 - tanh_c * tanh_c)  # (B, H)
        d_c_ln, d_gain_c, d_bias_c = layer_norm_backward(ops, d_c_norm, cache_c)
        d_c = d_c_next + d_c_ln
        d_act = ops.concat([d_c * g, d_c * c_prev, d_c * i, d_h * tanh_c], axis=1)  # (B, 4H)
        d_z = d_act * (act * (1.0 - act))  # sigmoid' = s(1 - s), right for i, f, o
        d_z[:, 2 * hidden : 3 * hidden] = d_act[:, 2 * hidden : 3 * hidden] * (1.0 - g * g)
        # z = LN(xp) + LN(hp): each projection gets d_z through its own normalisation.
        d_xp, d_gain_x, d_bias_x = layer_norm_backward(ops, d_z, cache_x)
        d_hp, d_gain_h, d_bias_h = layer_norm_backward(ops, d_z, cache_h)
        d_params = {"ln_weight_ih": d_gain_x, "ln_bias_ih": d_bias_x,
                    "ln_weight_hh": d_gain_h, "ln_bias_hh": d_bias_h,
                    "ln_weight_c": d_gain_c, "ln_bias_c": d_bias_c}
        return d_xp, d_hp, (ops.zeros_like(d_h), d_c * f), d_params


class LayerNormGRUCell(_LayerNormInit, Cell):
    """The GRU of :class:`~seqframe.cells.GRUCell` with layer normalisation (Ba et al. 2016).

    With ``xp = x @ W_ih.T`` and ``hp = h_{t-1} @ W_hh.T`` (B, 3H), gate order r, z, n, LN per
    gate block, and PyTorch's placement
    of ``r`` (on the normalised hidden projection of the n block, its LN bias included)::

        ax = LN(xp; ln_weight_ih, ln_bias_ih)      ah = LN(hp; ln_weight_hh, ln_bias_hh)
        r = sigmoid(ax_r + ah_r)
        z = sigmoid(ax_z + ah_z)
        n = tanh(ax_n + r * ah_n)
        h_t = (1 - z) * n + z * h_{t-1}

    Shapes (G = 3): ``weight_ih`` (3H, D), ``weight_hh`` (3H, H), no ``bias_ih``/``bias_hh``,
    ``ln_weight_ih``/``ln_bias_ih``/``ln_weight_hh``/``ln_bias_hh`` (3H,). The state is ``(h,)``.
    """

    name = "ln-gru"
    gates = 3
    bias = False
    state_names = ("h",)

    def own_param_shapes(self, input_size: int, hidden_size: int) -> dict[str, tuple[int, ...]]:
        return _norm_shapes(3 * hidden_size, ("ih", "hh"))

    def step(self, ops: Ops, xp: Array, hp: Array, state: State,
             params: dict[str, Array]) -> tuple[State, tuple]:
        h_prev = state[0]
        hidden = h_prev.shape[-1]
        ax, cache_x = layer_norm(ops, xp, params["ln_weight_ih"], params["ln_bias_ih"], 3)
        ah, cache_h = layer_norm(ops, hp, params["ln_weight_hh"], params["ln_bias_hh"], 3)
        rz = ops.sigmoid(ax[:, : 2 * hidden] + ah[:, : 2 * hidden])  # (B, 2H): r then z
        r, z = rz[:, :hidden], rz[:, hidden:]
        ah_n = ah[:, 2 * hidden :]  # (B, H)
        n = ops.tanh(ax[:, 2 * hidden :] + r * ah_n)  # (B, H)
        h = n + z * (h_prev - n)  # == (1 - z) * n + z * h_prev
        return (h,), (rz, n, ah_n, h_prev, cache_x, cache_h)

    def step_backward(self, ops: Ops, d_state: State, cache: tuple) -> tuple:
        rz, n, ah_n, h_prev, cache_x, cache_h = cache
        d_h = d_state[0]
        hidden = n.shape[-1]
        r, z = rz[:, :hidden], rz[:, hidden:]
        d_a_n = d_h * (1.0 - z) * (1.0 - n * n)  # dL/d(ax_n + r * ah_n), (B, H)
        d_r = d_a_n * ah_n
        d_z = d_h * (h_prev - n)
        d_a_rz = ops.concat([d_r, d_z], axis=1) * (rz * (1.0 - rz))  # (B, 2H) pre-sigmoid
        d_ax = ops.concat([d_a_rz, d_a_n], axis=1)  # (B, 3H) dL/d(LN(xp))
        d_ah = ops.concat([d_a_rz, d_a_n * r], axis=1)  # (B, 3H) dL/d(LN(hp))
        d_xp, d_gain_x, d_bias_x = layer_norm_backward(ops, d_ax, cache_x)
        d_hp, d_gain_h, d_bias_h = layer_norm_backward(ops, d_ah, cache_h)
        d_params = {"ln_weight_ih": d_gain_x, "ln_bias_ih": d_bias_x,
                    "ln_weight_hh": d_gain_h, "ln_bias_hh": d_bias_h}
        return d_xp, d_hp, (d_h * z,), d_params

