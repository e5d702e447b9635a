"""What docs/how-to/configure-a-run.md says about run files and precedence is what happens."""

from __future__ import annotations

import pytest

from seqframe.errors import ConfigError
from seqframe.runs.build import resolve_config
from tests.docs._tools import DOCS

RUN_FILE = str(DOCS / "how-to" / "run-files" / "charlm-gru.toml")


def test_the_example_run_file_resolves_as_written():
    config = resolve_config({}, RUN_FILE)
    assert (config.task, config.backend, config.cell) == ("charlm", "torch", "gru")
    assert config.hidden == 256
    assert config.batch_size == 64  # written `batch-size`
    assert config.options == {"seq_len": 100, "test_fraction": 0.05}


def test_defaults_then_task_then_file_then_flags():
    config = resolve_config({"lr": 1e-3, "options": {"seq_len": "50"}}, RUN_FILE)
    assert config.lr == 1e-3  # flag over file
    assert config.options == {"seq_len": "50", "test_fraction": 0.05}  # merged key by key
    assert config.bptt == 100  # the file (and the task's default) over seqframe's 0
    assert config.clip_value == 0.0  # nobody set it: seqframe's default
    plain = resolve_config({"task": "charlm"})
    assert plain.hidden == 128  # charlm's run_defaults over seqframe's 64


def test_steps_in_a_higher_layer_clears_the_tasks_epochs():
    config = resolve_config({"task": "charlm", "steps": 500})
    assert (config.steps, config.epochs) == (500, None)
    assert resolve_config({}, RUN_FILE).epochs is None  # the file sets steps


def test_unknown_key_in_a_run_file_names_the_file_and_suggests(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('task = "adding"\nhiden = 3\n')
    with pytest.raises(ConfigError, match=r"unknown config key 'hiden' in .*bad.toml\. Did you "
                                          r"mean 'hidden'\?"):
        resolve_config({}, str(path))
