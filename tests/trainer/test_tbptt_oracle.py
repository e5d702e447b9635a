"""The training loop against an independent oracle: a hand-rolled torch TBPTT loop.

The oracle uses torch autograd (no seqframe BPTT): it steps an ``nn.LSTMCell`` through each window
from the window's look-back start, takes the mean cross-entropy over the window's own k1 steps,
backpropagates, takes a plain SGD step, and carries a detached state. Equal parameters after an
epoch prove the trainer's windows, carried state, look-back, loss normalisation and update.
"""

import numpy as np
import pytest

from seqframe.runs.build import build
from seqframe.training.seeding import seed_streams
from seqframe.training.trainer import Trainer

torch = pytest.importorskip("torch")


def train_seqframe(config, tmp_path):
    built = build(config)
    ops, task, spec, model = built.ops, built.task, built.spec, built.model
    host = model.init_params(seed_streams(config.seed)["init"])
    params = {k: ops.asarray(v) for k, v in host.items()}
    run_dir = tmp_path / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    trainer = Trainer(config, task, spec, model, ops, params, run_dir, log=lambda _: None)
    trainer.fit()
    return host, trainer


def train_oracle(host, trainer, k1, k2):
    config, task = trainer.config, trainer.task
    hidden = config.hidden
    cell = torch.nn.LSTMCell(3, hidden, dtype=torch.float64)
    readout = torch.nn.Linear(hidden, 4, dtype=torch.float64)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, name).copy_(torch.from_numpy(host[f"{name}_l0"]))
        readout.weight.copy_(torch.from_numpy(host["readout.weight"]))
        readout.bias.copy_(torch.from_numpy(host["readout.bias"]))
    opt = torch.optim.SGD([*cell.parameters(), *readout.parameters()], lr=config.lr)
    carried = None
    for epoch in range(config.epochs):
        for batch in task.train_batches(epoch, config.batch_size, trainer.data_seed):
            x = torch.from_numpy(batch.inputs)
            y = torch.from_numpy(batch.targets)
            rows, steps = batch.targets.shape
            keep = torch.from_numpy(1.0 - batch.reset.astype(np.float64))[:, None]
            zero = (torch.zeros(rows, hidden, dtype=torch.float64),) * 2
            states = {0: carried if (task.opts["stateful"] and carried is not None) else zero}
            k1_eff = k1 or steps
            k2_eff = max(k2, k1_eff)
            for start in range(0, steps, k1_eff):
                stop = min(start + k1_eff, steps)
                back = max(0, start - (k2_eff - k1_eff))
                h, c = states[back]
                if back == 0:
                    h, c = h * keep, c * keep
                seen, logits = {back: states[back]}, []
                for t in range(back, stop):
                    h, c = cell(x[:, t], (h, c))
                    seen[t + 1] = (h.detach(), c.detach())
                    if t >= start:
                        logits.append(readout(h))
                scores = torch.stack(logits, dim=1).reshape(-1, 4)
                loss = torch.nn.functional.cross_entropy(scores, y[:, start:stop].reshape(-1))
                opt.zero_grad()
                loss.backward()
                opt.step()
                states = seen
            carried = states[steps]
    out = {f"{k}_l0": getattr(cell, k).detach().numpy() for k in ("weight_ih", "weight_hh",
                                                                  "bias_ih", "bias_hh")}
    out["readout.weight"] = readout.weight.detach().numpy()
    out["readout.bias"] = readout.bias.detach().numpy()
    return out


@pytest.mark.parametrize("stateful", [False, True])
@pytest.mark.parametrize("k1, k2", [(0, 0), (12, 0), (4, 0), (4, 6), (2, 5)])
def test_trainer_equals_torch_autograd_tbptt(tiny_config, tmp_path, stateful, k1, k2):
    config = tiny_config(optimizer="sgd", momentum=0.0, lr=0.5, clip_norm=0.0, epochs=2,
                         bptt=k1, bptt_back=k2, options={"stateful": stateful, "rows": 16})
    host, trainer = train_seqframe(config, tmp_path)
    expected = train_oracle(host, trainer, k1, k2)
    length = 12
    per_batch = -(-length // (k1 or length))
    batches = 3 if stateful else 2
    assert trainer.state.step == 2 * batches * per_batch
    for name, value in expected.items():
        np.testing.assert_allclose(trainer.params[name], value, rtol=1e-9, atol=1e-12,
                                   err_msg=name)


def test_a_window_covering_the_sequence_is_full_bptt_bit_for_bit(tiny_config, tmp_path):
    full = train_seqframe(tiny_config(bptt=0), tmp_path / "a")[1]
    covering = train_seqframe(tiny_config(bptt=12), tmp_path / "b")[1]
    longer = train_seqframe(tiny_config(bptt=50), tmp_path / "c")[1]
    for name, value in full.params.items():
        np.testing.assert_array_equal(covering.params[name], value)
        np.testing.assert_array_equal(longer.params[name], value)


@pytest.mark.parametrize("options", [{"stateful": True}, {"ragged": True},
                                     {"readout": "last", "ragged": True}])
def test_accumulation_equals_one_larger_batch(tiny_config, tmp_path, options):
    base = dict(optimizer="adam", bptt=4 if "readout" not in options else 0, epochs=1,
                options=options, clip_norm=0.5, batch_size=8)
    one = train_seqframe(tiny_config(**base), tmp_path / "a")[1]
    split = train_seqframe(tiny_config(**base, accumulate=3), tmp_path / "b")[1]
    assert one.state.step == split.state.step
    for name, value in one.params.items():
        np.testing.assert_allclose(split.params[name], value, rtol=1e-10, atol=1e-13)
