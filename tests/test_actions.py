"""The action table: parsing and learning-rate arithmetic."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from mava_ganno.env.actions import DEFAULT_ACTION_TABLE, ActionTable, parse_action


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
        ("+0", "non-empty list"),
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
