"""resolve_config layering, reopening runs, evaluation, the predictor."""

import numpy as np
import pytest

from seqframe.engine.predictor import ModelPredictor
from seqframe.errors import ConfigError, ShapeError, UsageError
from seqframe.runs import api
from seqframe.runs.build import resolve_config


def test_layers_defaults_task_file_flags(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text('task = "tiny"\nhidden = 16\nlr = 0.5\n[options]\nrows = 24\n')
    config = resolve_config({"lr": 0.1, "options": {"length": 6}}, str(path))
    assert config.task == "tiny"
    assert config.batch_size == 8  # the task's run_defaults beat the global default (32)
    assert config.hidden == 16  # the file beats the task
    assert config.lr == 0.1  # flags beat the file
    assert config.options == {"rows": 24, "length": 6}
    assert config.epochs == 2 and config.steps is None


def test_steps_from_a_higher_layer_clears_the_task_epochs():
    config = resolve_config({"task": "tiny", "steps": 50})
    assert config.steps == 50 and config.epochs is None


def test_epochs_and_steps_in_one_layer_is_an_error():
    with pytest.raises(ConfigError, match=r"the command line sets both epochs and steps"):
        resolve_config({"task": "tiny", "steps": 5, "epochs": 2})


def test_unknown_key_in_flags_is_an_error():
    with pytest.raises(ConfigError, match=r"unknown config key 'hiden'.*Did you mean 'hidden'"):
        resolve_config({"task": "tiny", "hiden": 5})


def test_evaluate_and_open_run_reproduce_the_summary(tiny_config, tmp_path):
    summary = api.train_config(tiny_config(epochs=2))
    assert api.load(tmp_path / "run").evaluate("test") == summary["metrics"]["test"]
    task, predictor, config = api.open_run(tmp_path / "run")
    assert task.scale == pytest.approx(task.state_dict()["scale"]) and config.task == "tiny"
    out, state = predictor.predict(np.zeros((2, 5, 3)))
    assert out.shape == (2, 5, 4) and len(state) == 1


def test_evaluate_unknown_split_and_non_run_dir(tiny_config, tmp_path):
    api.train_config(tiny_config(steps=1, epochs=None))
    with pytest.raises(UsageError, match=r"task 'tiny' has no 'train' split; it has val, test"):
        api.load(tmp_path / "run").evaluate("train")
    with pytest.raises(UsageError, match=r"is not a run directory \(no config.toml\)"):
        api.open_run(tmp_path)


def test_predictor_chunks_rows_and_continues_state(tiny_config, tmp_path):
    api.train_config(tiny_config(steps=2, epochs=None))
    _, predictor, _ = api.open_run(tmp_path / "run")
    x = np.random.default_rng(0).normal(size=(7, 6, 3))
    whole, state = predictor.predict(x)
    chunked = ModelPredictor(predictor.model, predictor.ops, predictor.params, max_rows=3)
    parts, chunk_state = chunked.predict(x)
    np.testing.assert_allclose(parts, whole, rtol=1e-12)
    first, mid = predictor.predict(x[:, :4])
    second, _ = chunked.predict(x[:, 4:], state=mid)  # a state from one predictor feeds another
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), whole, rtol=1e-12)
    with pytest.raises(ShapeError, match=r"state passed to predict has 7 rows but the inputs "
                       r"have 2"):
        predictor.predict(x[:2], state=state)
    with pytest.raises(ShapeError, match=r"predict expects inputs shaped \(B, T, 3\)"):
        predictor.predict(x[..., :2])


def test_amp_on_a_backend_without_it_is_explained(tiny_config):
    with pytest.raises(ConfigError, match=r"backend 'numpy' has no mixed precision --amp bf16 "
                                          r"\(it offers: off\)"):
        api.train_config(tiny_config(amp="bf16"))
