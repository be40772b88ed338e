"""The action table: parsing and learning-rate arithmetic."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from mava_ganno.env.actions import ACTION_TABLES, DEFAULT_ACTION_TABLE, ActionTable, parse_action


def test_default_table_is_the_papers():
    table = ActionTable.from_strings()
    assert table.num_actions == 9 and table.noop_index == 0
    lr = jnp.full((9,), 1e-3)
    new = np.asarray(table.apply(lr, jnp.arange(9), lr_max=0.1))
    expected = [1e-3, 1.01e-3, 1.1e-3, 1e-3 / 1.01, 1e-3 / 1.1, 1.5e-3, 0.5e-3, 2e-3, 0.0]
    np.testing.assert_allclose(new, expected, rtol=1e-5, atol=1e-9)


def test_clipping_to_zero_and_lr_max():
    table = ActionTable.from_strings()
    out = np.asarray(table.apply(jnp.asarray([0.0003, 0.0999, 0.0]), jnp.asarray([8, 7, 2]), lr_max=0.1))
    np.testing.assert_allclose(out, [0.0, 0.1, 0.0])  # -0.001 -> 0, +0.001 -> lr_max, 0 * 1.1 = 0


@pytest.mark.parametrize(
    "entry,expected",
    [("+0", (1.0, 0.0)), ("*1.1", (1.1, 0.0)), ("/2", (0.5, 0.0)), ("-1e-3", (1.0, -0.001)), (" + 0.0005 ", (1.0, 0.0005))],
)
def test_parse(entry, expected):
    np.testing.assert_allclose(parse_action(entry), expected)


@pytest.mark.parametrize(
    "entries,match",
    [
        (["*1.1", "**2"], r"entry 1 \('\*\*2'\) is malformed"),
        (["+0", "/0"], "divide the learning rate by 0"),
        (["+0", 1.1], "must be a string"),
        ([], "non-empty list"),
        ("+0", r"unknown action table '\+0': give a preset \('paper', 'rich'\) or a list of actions"),
    ],
)
def test_malformed_tables(entries, match):
    with pytest.raises(ValueError, match=match):
        ActionTable.from_strings(entries)


def test_default_strings_round_trip():
    table = ActionTable.from_strings(list(DEFAULT_ACTION_TABLE))
    assert table.entries == DEFAULT_ACTION_TABLE


def test_initial_previous_action_is_the_noop_or_zero():
    assert ActionTable.from_strings(["*1.1", "+0", "-0.001"]).initial_previous_action == 1
    assert ActionTable.from_strings(["*1.1", "/1.1"]).initial_previous_action == 0


def _highest_after(table: ActionTable, decisions: int, lr0: float = 0.0) -> float:
    """The highest LR any sequence of ``decisions`` actions reaches from ``lr0``."""
    lrs = np.asarray([lr0], np.float32)
    for _ in range(decisions):
        lrs = np.asarray(table.apply(jnp.repeat(lrs, table.num_actions), jnp.tile(jnp.arange(table.num_actions), len(lrs)), 0.1))
    return float(lrs.max())


def test_the_rich_table_expresses_a_warmup_the_papers_cannot():
    """Presets: 'paper' is the default; 'rich' keeps the paper's nine actions at their indices
    and adds *2, /2, +-0.005, so a warm-up from LR 0 to 1e-2 takes 2 decisions (10% of a
    20-decision run) where the paper's table reaches 2e-3."""
    paper, rich = ActionTable.from_strings("paper"), ActionTable.from_strings("rich")
    assert paper.entries == DEFAULT_ACTION_TABLE and set(ACTION_TABLES) == {"paper", "rich"}
    assert rich.entries[:9] == DEFAULT_ACTION_TABLE and rich.num_actions == 13 and rich.noop_index == 0
    assert _highest_after(paper, 2) == pytest.approx(2e-3)
    assert _highest_after(rich, 2) == pytest.approx(1e-2)
    assert _highest_after(rich, 1, lr0=1e-3) == pytest.approx(5e-3 + 1e-3)  # +0.005 beats *2 from 1e-3


def test_an_environment_takes_a_preset_table():
    from conftest import TINY

    from mava_ganno.env import make_ganno

    env = make_ganno(**TINY, action_table="rich")
    assert env.action_table.entries == ACTION_TABLES["rich"] and env.action_dim == 13
    assert env.obs_dim == make_ganno(**TINY).obs_dim + 4  # the previous action is one-hot over the table
    with pytest.raises(ValueError, match="unknown action table 'big'"):
        make_ganno(**TINY, action_table="big")
