"""experiments/with_layer_actions.py: copies of saved policies with another layer-action
setting, weights byte for byte, refusing to overwrite or to merge two sources."""

from __future__ import annotations

import json
import os

import jax
import pytest

from mava_ganno.env.actions import DEFAULT_ACTION_TABLE
from mava_ganno.env.observations import FEATURE_SETS
from mava_ganno.policy import NetworkConfig, init_policy, load_policy, save_policy


@pytest.fixture(scope="module")
def wla(experiment_script):
    return experiment_script("with_layer_actions")


def _saved(path, meta):
    small = NetworkConfig(pre_torso=(8,), post_torso=(8,), hidden_state_dim=4)
    save_policy(str(path), init_policy(jax.random.PRNGKey(0), FEATURE_SETS["full"], DEFAULT_ACTION_TABLE, 0.1, small, metadata=meta))
    return str(path)


def test_copies_change_only_the_setting_and_refuse_overwrites_and_clashes(wla, tmp_path, capsys):
    a = _saved(tmp_path / "src" / "clone_s0", {"run": "r0"})
    b = _saved(tmp_path / "src" / "clone_s1", {"run": "r1"})
    out = tmp_path / "out"
    assert wla.main(["shared", a, b, "--out", str(out)]) == 0
    for src, name in ((a, "clone_s0"), (b, "clone_s1")):
        copy = load_policy(str(out / name))
        assert copy.layer_actions == "shared" and copy.metadata == load_policy(src).metadata
        assert (out / name / "params.msgpack").read_bytes() == open(os.path.join(src, "params.msgpack"), "rb").read()
        mine, theirs = json.load(open(out / name / "policy.json")), json.load(open(os.path.join(src, "policy.json")))
        assert {k: v for k, v in mine.items() if k != "layer_actions"} == theirs
    # back to "own": the file is the source's again
    assert wla.main(["own", str(out / "clone_s0"), "--out", str(tmp_path / "back")]) == 0
    assert json.load(open(tmp_path / "back" / "clone_s0" / "policy.json")) == json.load(open(os.path.join(a, "policy.json")))
    capsys.readouterr()
    assert wla.main(["shared", a, "--out", str(out)]) == 2  # exists
    assert "exists" in capsys.readouterr().err
    other = _saved(tmp_path / "elsewhere" / "clone_s0", {})
    assert wla.main(["shared", a, other, "--out", str(tmp_path / "new")]) == 2  # two sources named clone_s0
    assert "share a folder name" in capsys.readouterr().err and not (tmp_path / "new").exists()
    with pytest.raises(SystemExit):
        wla.main(["joint", a, "--out", str(tmp_path / "x")])
