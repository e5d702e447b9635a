"""Run configuration: precedence, validation, round trip through config.toml."""

from __future__ import annotations

import pytest

from seqframe.config import RunConfig, load_toml, merge, read_resolved, write_toml
from seqframe.errors import ConfigError


def test_later_sources_override_earlier_ones_and_options_merge_by_key():
    base = merge(RunConfig(), {"hidden": 32, "options": {"target": "temp", "horizon": 12}}, "file")
    final = merge(base, {"hidden": 64, "options": {"horizon": 24}}, "flags")
    assert final.hidden == 64
    assert final.options == {"target": "temp", "horizon": 24}


def test_dashed_keys_are_accepted():
    assert merge(RunConfig(), {"batch-size": 8, "clip-norm": 1}, "file").batch_size == 8


def test_ints_are_accepted_for_floats_but_not_the_other_way():
    assert merge(RunConfig(), {"lr": 1}, "f").lr == 1.0
    with pytest.raises(ConfigError, match=r"config key 'hidden' expects int, got 1\.5 \(float\)"):
        merge(RunConfig(), {"hidden": 1.5}, "f")
    with pytest.raises(ConfigError, match="config key 'layers' expects int, got True"):
        merge(RunConfig(), {"layers": True}, "f")


def test_unknown_key_names_the_source_and_the_closest_key():
    with pytest.raises(ConfigError, match=r"unknown config key 'hiden' in run\.toml\. "
                       r"Did you mean 'hidden'\?"):
        merge(RunConfig(), {"hiden": 3}, "run.toml")


def test_options_must_be_a_table():
    with pytest.raises(ConfigError, match="`options` must be a table"):
        merge(RunConfig(), {"options": "target=temp"}, "f")


def test_resolved_config_round_trips(tmp_path):
    config = RunConfig(task="charlm", hidden=17, steps=5, options={"seq_len": 20, "x": "y"})
    write_toml(config, tmp_path / "config.toml")
    assert read_resolved(tmp_path / "config.toml") == config


def test_missing_and_malformed_files_are_clear_errors(tmp_path):
    with pytest.raises(ConfigError, match="config file '.*nope.toml' does not exist"):
        load_toml(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("hidden = = 3\n")
    with pytest.raises(ConfigError, match="config file '.*bad.toml' is not valid TOML"):
        load_toml(bad)
