"""Evaluation: trained GANNO policies, zero-shot, against handcrafted schedules and optimisers.

``ganno evaluate`` / ``python -m mava_ganno.evaluation.harness``::

    python -m mava_ganno.evaluation.harness --scenario mlp5-mnist_5k --policy runs/ganno/policy \\
        --policy runs/lr_only/policy --name mlp2_to_mlp5

Every run trains the evaluation network for its full budget (``sl_steps`` SGD steps) from the
same initialisation and on the same minibatch order for a given seed, whatever the method:

- GANNO policies (and the ablations, which are just policies trained with other configs) and
  a random layerwise agent run the environment in evaluation mode (no difference reward,
  test split tracked) from the grid's initial LR and weight decay; ``sampled`` draws actions
  from the policy, ``greedy`` takes the most likely action.
- Baselines (``mava_ganno.evaluation.baselines``) train the same network with optax, using the
  environment's own trainer: same init (``trainer.init``), same minibatches
  (``trainer.batch_indices``/``minibatch``, with the environment's key chain), same loss.
  A ``constant`` schedule is therefore exactly GANNO's always-no-op agent.

Runs that share a shape are ``jax.vmap``-ed (over LR x weight decay x seed, and for the
AdamW schedules over the schedule too) and each run is a ``lax.scan`` over tau-step chunks,
recording train loss and validation/test accuracy after every chunk.

Divergence (a non-finite train or validation loss in a chunk) is a result, not an error: the
run stops changing, its accuracy is recorded as chance level (10% on 10 classes) from then
on, its train loss as inf, and its ``diverged`` flag is set.

Outputs (``results/<name>/``, see ``mava_ganno.evaluation.store``): ``table.csv``, ``table.md``,
``curves.csv``, ``layer_lrs.csv``, ``config.json`` and PNG figures.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import re
import sys
import time
import weakref
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax

from flax import struct

from mava_ganno.backend.trainer import SLTrainer, TrainState
from mava_ganno.env.env import Ganno
from mava_ganno.env.generator import InitialConditionsGenerator
from mava_ganno.env.observations import FEATURE_SETS
from mava_ganno.policy import policy_is_single_agent
from mava_ganno.evaluation.baselines import (
    LR_FREE,
    OPTIMIZER_NAMES,
    SCHEDULE_NAMES,
    UNAVAILABLE,
    check_optax,
    make_adamw_schedule_bank,
    make_optimizer,
)

DEFAULT_LRS: Tuple[float, ...] = (0.0, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2)
DEFAULT_WEIGHT_DECAYS: Tuple[float, ...] = (0.1, 1e-4)
DEFAULT_SEEDS = 3
POLICY_MODES = ("sampled", "greedy")


# ============================================================================ methods
@dataclasses.dataclass(frozen=True)
class MethodInfo:
    """How a method is shown in the tables.

    group: ``handcrafted``, ``warmup``, ``optimizer``, ``ganno``, ``ablation`` or ``random``.
    takes_lr: run at every grid LR (else once per weight decay and seed).
    """

    label: str
    group: str
    takes_lr: bool = True
    note: str = ""


BASELINES: Dict[str, MethodInfo] = {
    "constant": MethodInfo("Constant", "handcrafted"),
    "linear": MethodInfo("Linear decay", "handcrafted"),
    "quadratic": MethodInfo("Quadratic decay", "handcrafted"),
    "cosine": MethodInfo("Cosine decay", "handcrafted"),
    "exponential": MethodInfo("Exponential decay", "handcrafted"),
    "piecewise": MethodInfo("Piecewise constant", "handcrafted"),
    "sgdr": MethodInfo("SGDR", "handcrafted"),
    "warmup_cosine": MethodInfo("Linear warm-up, cosine decay", "warmup", note="grid LR = peak"),
    "onecycle": MethodInfo("Cosine one-cycle", "warmup", note="grid LR = peak"),
    "lamb_cosine": MethodInfo("LAMB w/ cosine decay", "optimizer"),
    "lion": MethodInfo("Lion", "optimizer"),
    "schedule_free_adamw": MethodInfo("Schedule-free AdamW", "optimizer"),
    "prodigy": MethodInfo("Prodigy", "optimizer", takes_lr=False, note="learning-rate free"),
    "velo": MethodInfo("VeLO", "optimizer", takes_lr=False, note=UNAVAILABLE["velo"]),
}
DEFAULT_METHODS: Tuple[str, ...] = tuple(BASELINES)
assert set(SCHEDULE_NAMES) | set(OPTIMIZER_NAMES) | set(UNAVAILABLE) == set(BASELINES)
assert all(not BASELINES[n].takes_lr for n in LR_FREE)

ABLATION_LABELS = {
    "lr_only": "GANNO-LR-only",
    "timestep_only": "GANNO-timestep-only",
    "single_agent": "GANNO-single-agent",
}


# ============================================================================ scenarios
@dataclasses.dataclass(frozen=True)
class Scenario:
    """The evaluation problem: network, dataset and training budget.

    See ``make_scenario``: a training-config scenario name or ``<network>-<dataset>``.
    """

    name: str
    network: str
    dataset: str
    tau: int = 100
    sl_steps: int = 2000
    batch_size: int = 32
    hidden: int = 64
    width: int = 16
    data_seed: int = 0
    data_dir: Optional[str] = None

    @property
    def num_chunks(self) -> int:
        return self.sl_steps // self.tau

    def env_kwargs(self) -> Dict[str, Any]:
        return dict(
            network=self.network,
            dataset=self.dataset,
            tau=self.tau,
            sl_steps=self.sl_steps,
            batch_size=self.batch_size,
            hidden=self.hidden,
            width=self.width,
            data_seed=self.data_seed,
            data_dir=self.data_dir,
        )


SCENARIO_FIELDS = ("network", "dataset", "tau", "sl_steps", "batch_size", "hidden", "width", "data_seed", "data_dir")
_SCENARIO_RE = re.compile(r"^(mlp\d+|cnn\d+|resnet9|resnet18|vit)-(.+)$")


def scenario_file(name: str) -> Optional[str]:
    """``configs/env/scenario/<name>.yaml`` (the training configs' scenarios), if it exists."""
    try:
        from importlib.resources import files

        path = files("mava_ganno.configs") / "env" / "scenario" / f"{name}.yaml"
        return str(path) if path.is_file() else None
    except (ImportError, ModuleNotFoundError, TypeError):
        return None


def make_scenario(name: str, **overrides: Any) -> Scenario:
    """A scenario by name, with budget overrides (None values are ignored).

    ``name`` is a scenario of the training configs (``configs/env/scenario/<name>.yaml``,
    e.g. ``mlp5-mnist_5k``, ``cnn5-cifar10``): its network, dataset, tau, budget and sizes are
    used. Any other ``<network>-<dataset>`` (``mlp3-digits``) gets the defaults (tau 100,
    2000 SGD steps, batch 32).
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"scenario must be a name like 'mlp5-mnist_5k', got {name!r}.")
    path = scenario_file(name)
    kwargs: Dict[str, Any] = {}
    if path is not None:
        from omegaconf import OmegaConf

        env_kwargs = OmegaConf.to_container(OmegaConf.load(path)).get("env_kwargs", {}) or {}
        kwargs = {k: v for k, v in env_kwargs.items() if k in SCENARIO_FIELDS}
        if "network" not in kwargs or "dataset" not in kwargs:
            raise ValueError(f"{path}: env_kwargs needs network and dataset.")
    else:
        m = _SCENARIO_RE.match(name)
        if m is None:
            raise ValueError(
                f"scenario {name!r} is neither a file in configs/env/scenario/ nor "
                "'<network>-<dataset>'; e.g. 'mlp5-mnist_5k', 'cnn5-mnist_5k', 'mlp3-digits'."
            )
        kwargs = dict(network=m.group(1), dataset=m.group(2))
    unknown = [k for k in overrides if k not in SCENARIO_FIELDS]
    if unknown:
        raise TypeError(f"unknown scenario overrides {unknown}; known: {list(SCENARIO_FIELDS)}.")
    kwargs.update({k: v for k, v in overrides.items() if v is not None})
    sc = Scenario(name, **kwargs)
    if sc.tau <= 0 or sc.sl_steps <= 0 or sc.sl_steps % sc.tau:
        raise ValueError(
            f"scenario {name!r}: sl_steps={sc.sl_steps} must be a positive multiple of "
            f"tau={sc.tau}; e.g. --sl-steps {max(1, sc.sl_steps // max(sc.tau, 1)) * max(sc.tau, 1)}."
        )
    return sc


# ============================================================================ results
@dataclasses.dataclass
class RunSet:
    """Every run of one method (R runs, C chunks of tau steps).

    Arrays: lr, weight_decay (R,) float (lr NaN for LR-free methods); seed (R,) int;
    test_accuracy, val_accuracy, train_loss (R, C+1), entry 0 at initialisation; lrs (R, C, L)
    the learning rate(s) used in each chunk (L layers for policies, 1 for baselines; NaN where
    the method has no single LR or after divergence); diverged (R,) bool.
    """

    method: str
    label: str
    group: str
    mode: str
    lr: np.ndarray
    weight_decay: np.ndarray
    seed: np.ndarray
    steps: np.ndarray
    test_accuracy: np.ndarray
    val_accuracy: np.ndarray
    train_loss: np.ndarray
    lrs: np.ndarray
    diverged: np.ndarray
    takes_lr: bool = True
    policy: str = ""
    seconds: float = 0.0

    @property
    def num_runs(self) -> int:
        return int(self.seed.shape[0])

    def rows(self) -> List[Dict[str, Any]]:
        """One ``table.csv`` row per run."""
        out = []
        for i in range(self.num_runs):
            out.append(
                dict(
                    method=self.method,
                    label=self.label,
                    group=self.group,
                    mode=self.mode,
                    initial_lr=float(self.lr[i]) if self.takes_lr else None,
                    weight_decay=float(self.weight_decay[i]),
                    seed=int(self.seed[i]),
                    final_test_accuracy=float(self.test_accuracy[i, -1]),
                    best_test_accuracy=float(np.max(self.test_accuracy[i])),
                    final_train_loss=float(self.train_loss[i, -1]),
                    diverged=bool(self.diverged[i]),
                    final_val_accuracy=float(self.val_accuracy[i, -1]),
                    policy=self.policy,
                )
            )
        return out


@dataclasses.dataclass
class Evaluation:
    scenario: Scenario
    lrs: Tuple[float, ...]
    weight_decays: Tuple[float, ...]
    seeds: Tuple[int, ...]
    runsets: List[RunSet]
    unavailable: Dict[str, str]
    seconds: float = 0.0
    num_classes: int = 10

    def rows(self) -> List[Dict[str, Any]]:
        return [r for rs in self.runsets for r in rs.rows()]

    def get(self, label: str) -> Optional[RunSet]:
        for rs in self.runsets:
            if rs.label == label:
                return rs
        return None


# ============================================================================ policies
class FixedPolicy(struct.PyTreeNode):
    """A policy that ignores its observation: every layer draws from fixed action logits.

    ``RandomPolicy`` (uniform: the paper's random layerwise agent) and ``NoopPolicy`` (always
    the no-op: a constant LR) are instances. Same interface as
    ``mava_ganno.policy.GannoPolicy`` (``init_hidden``, ``act``), so it runs through exactly
    the same evaluation code path; ``logits`` is a pytree leaf, so all fixed policies of one
    action table share one compiled function.
    """

    logits: chex.Array  # (A,)
    action_table: Tuple[str, ...] = struct.field(pytree_node=False)
    lr_max: float = struct.field(pytree_node=False, default=0.1)
    feature_names: Tuple[str, ...] = struct.field(pytree_node=False, default=FEATURE_SETS["full"])
    metadata: Any = struct.field(pytree_node=False, default=None)

    def init_hidden(self, num_agents: int) -> chex.Array:
        return jnp.zeros((int(num_agents), 1), jnp.float32)

    def act(self, hidden, agents_view, action_mask, reset, key, greedy=False):
        del reset
        logits = jnp.where(action_mask, self.logits, -jnp.inf)
        sampled = jax.random.categorical(key, logits, axis=-1)
        actions = jnp.where(greedy, jnp.argmax(logits, axis=-1), sampled).astype(jnp.int32)
        return hidden, actions, jax.nn.softmax(logits, axis=-1)


def RandomPolicy(action_table: Sequence[str], lr_max: float = 0.1) -> FixedPolicy:
    """The random layerwise agent: uniformly random actions (sample it, ``greedy=False``)."""
    return FixedPolicy(jnp.zeros(len(action_table), jnp.float32), tuple(action_table), float(lr_max))


def NoopPolicy(action_table: Sequence[str], lr_max: float = 0.1) -> FixedPolicy:
    """Always the no-op action: every layer keeps its initial LR (= the constant schedule)."""
    from mava_ganno.env.actions import ActionTable

    noop = ActionTable.from_strings(tuple(action_table)).noop_index
    logits = jnp.full(len(action_table), -1e9, jnp.float32).at[noop].set(0.0)
    return FixedPolicy(logits, tuple(action_table), float(lr_max))


@dataclasses.dataclass
class PolicySource:
    """A policy to evaluate: ``label`` (table row), ``group`` (ganno/ablation/random)."""

    label: str
    group: str
    policy: Any
    path: str = ""
    single_agent: bool = False

    @property
    def feature_names(self) -> Tuple[str, ...]:
        return tuple(self.policy.feature_names)


def describe_policy(policy: Any, path: str = "", label: Optional[str] = None) -> PolicySource:
    """Label and group of a loaded policy, from its features and metadata.

    Full features on layer agents -> ``GANNO``; the paper's ablations -> ``GANNO-LR-only``,
    ``GANNO-timestep-only``, ``GANNO-single-agent`` (single agent is read from the policy's
    metadata ``single_agent``, else inferred from the ``single_agent`` feature preset).
    """
    feats = tuple(policy.feature_names)
    single = policy_is_single_agent(policy)
    if single:
        preset, group = "single_agent", "ablation"
    elif feats == FEATURE_SETS["lr_only"]:
        preset, group = "lr_only", "ablation"
    elif feats == FEATURE_SETS["timestep_only"]:
        preset, group = "timestep_only", "ablation"
    elif feats == FEATURE_SETS["full"]:
        preset, group = "full", "ganno"
    else:
        preset, group = "custom", "ablation"
    if label is None:
        label = "GANNO" if preset == "full" else ABLATION_LABELS.get(preset, "GANNO-custom-features")
    return PolicySource(label, group, policy, path, single)


def load_policy_any(path: str) -> Any:
    """Load a trained policy from a directory, dispatching on what it contains.

    - ``policy.json`` + ``params.msgpack``: a mava_ganno policy (``mava_ganno.policy``, what
      ``ganno train`` writes to ``<run>/policy``);
    - ``<step>/`` folders or ``metadata/``: a Mava checkpoint run directory
      (``checkpoints/<system>/<uid>``), via ``mava_ganno.mava.checkpoint.load_mava_policy``.
    """
    from mava_ganno import policy as policy_mod

    if not os.path.isdir(path):
        raise FileNotFoundError(
            f"policy path {path!r} is not a directory; give a folder written by ganno train "
            "(<run>/policy, with policy.json + params.msgpack) or a Mava checkpoint run "
            "directory (checkpoints/<system>/<uid>)."
        )
    if os.path.isfile(os.path.join(path, policy_mod.CONFIG_FILE)):
        return policy_mod.load_policy(path)
    children = os.listdir(path)
    if "metadata" in children or any(c.isdigit() for c in children):
        try:
            from mava_ganno.mava.checkpoint import load_mava_policy
        except ImportError as e:  # pragma: no cover - the module ships with mava_ganno
            raise RuntimeError(f"{path!r} looks like a Mava checkpoint but the loader failed to import: {e}") from e
        return load_mava_policy(path)
    raise FileNotFoundError(
        f"{path!r} holds neither a mava_ganno policy ({policy_mod.CONFIG_FILE} + "
        f"{policy_mod.PARAMS_FILE}, as in <run>/policy) nor a Mava checkpoint (<step>/ folders "
        "and metadata/, as in checkpoints/<system>/<uid>)."
    )


def parse_policy_arg(arg: str) -> Tuple[Optional[str], str]:
    """``LABEL=PATH`` or ``PATH`` -> (label or None, path)."""
    if "=" in arg and not os.path.exists(arg):
        label, path = arg.split("=", 1)
        if not label.strip():
            raise ValueError(f"--policy {arg!r}: empty label before '='; use LABEL=PATH or PATH.")
        return label.strip(), path
    return None, arg


# ============================================================================ runners
def reset_with_conditions(env: Ganno, key: chex.PRNGKey, lr: chex.Numeric, weight_decay: chex.Numeric):
    """``env.reset(key)`` with the initial LR and weight decay given (they may be traced)."""
    return env.reset_with_conditions(key, lr, weight_decay)


def _select(pred: chex.Array, on_true: Any, on_false: Any) -> Any:
    return jax.tree_util.tree_map(lambda a, b: jnp.where(pred, a, b), on_true, on_false)


def make_policy_run(env: Ganno, chance: float) -> Callable:
    """``run(policy, seed_key, lr, wd, greedy) -> dict``: one evaluation episode.

    Jittable and vmappable over ``seed_key, lr, wd, greedy`` (``greedy`` a traced bool, so
    sampled and greedy runs share one compiled function); ``policy`` is a pytree argument
    (``GannoPolicy`` or ``FixedPolicy``), passed unbatched.
    """
    n, c = env.num_agents, env.time_limit

    def run(policy, seed_key, lr, wd, greedy):
        state, ts = reset_with_conditions(env, seed_key, lr, wd)
        x0 = ts.extras
        hidden = policy.init_hidden(n)
        k_policy = jax.random.fold_in(seed_key, 1)

        def body(carry, t):
            state, obs, hidden, dead, key = carry
            key, k_act = jax.random.split(key)
            reset = jnp.full((n,), t == 0)
            hidden2, actions, _ = policy.act(
                hidden, obs.agents_view, obs.action_mask, reset, k_act, greedy
            )
            state2, ts2 = env.step(state, actions)
            x = ts2.extras
            now_dead = dead | x["diverged"]
            carry = (
                _select(dead, state, state2),
                _select(dead, obs, ts2.observation),
                jnp.where(dead, hidden, hidden2),
                now_dead,
                key,
            )
            rec = dict(
                train_loss=jnp.where(now_dead, jnp.inf, x["train_loss"]),
                val_accuracy=jnp.where(now_dead, chance, x["val_accuracy"]),
                test_accuracy=jnp.where(now_dead, chance, x["test_accuracy"]),
                lrs=jnp.where(dead, jnp.nan, x["layer_lrs"]),
            )
            return carry, rec

        init = (state, ts.observation, hidden, jnp.asarray(False), k_policy)
        (_, _, _, dead, _), rec = jax.lax.scan(body, init, jnp.arange(c))
        first = lambda k: jnp.concatenate([x0[k][None], rec[k]])  # noqa: E731
        return dict(
            train_loss=first("train_loss"),
            val_accuracy=first("val_accuracy"),
            test_accuracy=first("test_accuracy"),
            lrs=rec["lrs"],
            diverged=dead,
        )

    return run


def make_baseline_run(trainer: SLTrainer, family: Any, num_chunks: int, chance: float) -> Callable:
    """``run(seed_key, lr, wd, index) -> dict`` training the network with an optax baseline.

    ``family`` is a baseline name, or a tuple of AdamW schedule names (then ``index`` picks
    one, so they all share one compiled function). Same key chain as ``Ganno.reset``/``step``:
    identical init and minibatches to a GANNO run with the same seed key.
    """
    tau = trainer.tau
    total = tau * num_chunks

    def run(seed_key, lr, wd, index):
        if isinstance(family, tuple):
            opt = make_adamw_schedule_bank(family, index, lr, wd, total)
        else:
            opt = make_optimizer(family, lr, wd, total)
        key, _, k_init, k_measure = jax.random.split(seed_key, 4)
        ts0 = trainer.init(k_init)
        _, loss0, _ = trainer.measure(ts0, wd, k_measure)
        params, bs = ts0.params, ts0.batch_stats
        opt_state = opt.tx.init(params)

        def evaluate(params, bs, opt_state):
            ts = TrainState(opt.eval_params(opt_state, params), bs, None)
            return trainer.evaluate(ts, "val"), trainer.evaluate(ts, "test")

        (_, vacc0), (_, tacc0) = evaluate(params, bs, opt_state)

        def sgd(carry, idx):
            params, bs, opt_state = carry
            x, y = trainer.minibatch(idx)
            (loss, (_, bs)), grads = jax.value_and_grad(trainer._loss, has_aux=True)(
                params, bs, x, y
            )
            updates, opt_state = opt.tx.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), bs, opt_state), loss

        def chunk(carry, c):
            key, params, bs, opt_state, dead = carry
            key, k_train, _ = jax.random.split(key, 3)
            idx = trainer.batch_indices(k_train, tau)
            (p2, bs2, o2), losses = jax.lax.scan(sgd, (params, bs, opt_state), idx)
            loss = jnp.mean(losses)
            (vloss, vacc), (_, tacc) = evaluate(p2, bs2, o2)
            now_dead = dead | ~(jnp.isfinite(loss) & jnp.isfinite(vloss))
            p2, bs2, o2 = _select(now_dead, (params, bs, opt_state), (p2, bs2, o2))
            rec = dict(
                train_loss=jnp.where(now_dead, jnp.inf, loss),
                val_accuracy=jnp.where(now_dead, chance, vacc),
                test_accuracy=jnp.where(now_dead, chance, tacc),
                lrs=jnp.where(dead, jnp.nan, opt.lr_at(c * tau)).reshape(1).astype(jnp.float32),
            )
            return (key, p2, bs2, o2, now_dead), rec

        init = (key, params, bs, opt_state, jnp.asarray(False))
        (_, _, _, _, dead), rec = jax.lax.scan(chunk, init, jnp.arange(num_chunks))
        first = lambda v, k: jnp.concatenate([jnp.reshape(v, (1,)), rec[k]])  # noqa: E731
        return dict(
            train_loss=first(jnp.nan_to_num(loss0, nan=jnp.inf), "train_loss"),
            val_accuracy=first(vacc0, "val_accuracy"),
            test_accuracy=first(tacc0, "test_accuracy"),
            lrs=rec["lrs"],
            diverged=dead,
        )

    return run


def _batches(num_runs: int, max_runs: int) -> Tuple[int, int]:
    """(number of calls, runs per call) splitting num_runs evenly into calls <= max_runs."""
    calls = max(1, math.ceil(num_runs / max(1, max_runs)))
    return calls, math.ceil(num_runs / calls)


_JIT_CACHE: "weakref.WeakKeyDictionary[Callable, Dict[Tuple, Callable]]" = weakref.WeakKeyDictionary()


def _jitted(fn: Callable, kind: str, num_shared: int, num_args: int) -> Callable:
    """``jit(vmap(fn))`` (or ``jit(fn)``), memoised per ``fn`` so repeated calls (e.g. several
    fixed-distribution agents on one environment) reuse the compiled function."""
    per_fn = _JIT_CACHE.setdefault(fn, {})
    key = (kind, num_shared, num_args)
    if key not in per_fn:
        if kind == "vmap":
            in_axes = (None,) * num_shared + (0,) * num_args
            per_fn[key] = jax.jit(jax.vmap(fn, in_axes=in_axes))
        else:
            per_fn[key] = jax.jit(fn)
    return per_fn[key]


def vmapped_runs(
    fn: Callable, args: Sequence[np.ndarray], max_runs: int, shared: Sequence[Any] = ()
) -> Dict[str, np.ndarray]:
    """``jit(vmap(fn))(*shared, *args)`` over the leading axis of ``args``, in equal calls.

    ``shared`` are passed unbatched (e.g. the policy). The last call is padded with copies of
    run 0 (one compiled shape), the padding dropped.
    """
    num_runs = int(args[0].shape[0])
    calls, size = _batches(num_runs, max_runs)
    vfn = _jitted(fn, "vmap", len(shared), len(args))
    outs = []
    for i in range(calls):
        sl = [np.asarray(a[i * size : (i + 1) * size]) for a in args]
        pad = size - sl[0].shape[0]
        if pad:
            sl = [np.concatenate([s, np.repeat(s[:1], pad, axis=0)]) for s in sl]
        out = jax.device_get(vfn(*shared, *sl))
        outs.append(jax.tree_util.tree_map(lambda x: np.asarray(x)[: size - pad], out))
    return jax.tree_util.tree_map(lambda *xs: np.concatenate(xs), *outs)


def sequential_runs(fn: Callable, args: Sequence[np.ndarray], shared: Sequence[Any] = ()) -> Dict[str, np.ndarray]:
    """The same runs one at a time through ``jit(fn)`` (the benchmark's reference loop)."""
    jfn = _jitted(fn, "single", len(shared), len(args))
    n = int(args[0].shape[0])
    outs = [jax.device_get(jfn(*shared, *[a[i] for a in args])) for i in range(n)]
    return jax.tree_util.tree_map(lambda *xs: np.stack([np.asarray(x) for x in xs]), *outs)


# ============================================================================ the harness
def _grid(lrs, wds, seeds) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lr, weight decay, seed) of every grid point; float64 so tables show the exact grid."""
    g = [(lr, wd, s) for lr in lrs for wd in wds for s in seeds]
    return (
        np.array([x[0] for x in g], np.float64),
        np.array([x[1] for x in g], np.float64),
        np.array([x[2] for x in g], np.int32),
    )


def _keys(seeds: np.ndarray) -> np.ndarray:
    return np.stack([np.asarray(jax.random.PRNGKey(int(s))) for s in seeds])


def _validate_grid(lrs, wds, seeds) -> None:
    if not lrs:
        raise ValueError("the LR grid is empty; e.g. --lrs 0,1e-4,3e-4,1e-3,3e-3,1e-2.")
    for lr in lrs:
        if not (math.isfinite(lr) and lr >= 0):
            raise ValueError(f"initial LR {lr} is not a finite number >= 0; fix --lrs.")
    if not wds:
        raise ValueError("the weight-decay grid is empty; e.g. --weight-decays 0.1,1e-4.")
    for wd in wds:
        if not (math.isfinite(wd) and wd >= 0):
            raise ValueError(f"weight decay {wd} is not a finite number >= 0; fix --weight-decays.")
    if not seeds:
        raise ValueError("no seeds; e.g. --seeds 3.")
    if len(set(lrs)) != len(lrs) or len(set(wds)) != len(wds) or len(set(seeds)) != len(seeds):
        raise ValueError(f"the grid repeats a value: lrs={lrs}, weight_decays={wds}, seeds={seeds}.")


def evaluate(
    scenario: Scenario | str,
    policies: Sequence[PolicySource | Any] = (),
    *,
    lrs: Sequence[float] = DEFAULT_LRS,
    weight_decays: Sequence[float] = DEFAULT_WEIGHT_DECAYS,
    seeds: Sequence[int] | int = DEFAULT_SEEDS,
    methods: Sequence[str] = DEFAULT_METHODS,
    policy_modes: Sequence[str] = POLICY_MODES,
    random_agent: bool = True,
    max_runs_per_call: int = 128,
    sequential: bool = False,
    log: Callable[[str], None] = print,
) -> Evaluation:
    """Run every method on the grid. See the module docstring.

    Args:
        scenario: a ``Scenario`` or its name (``mlp5-mnist_5k``).
        policies: ``PolicySource``s or loaded policies (``GannoPolicy``).
        lrs: initial LRs (0 is only run by policies: a schedule from 0 stays at 0).
        weight_decays, seeds: the rest of the grid (``seeds`` an int n means 0..n-1).
        methods: baselines, names from ``BASELINES`` (``velo`` is listed as not runnable).
        policy_modes: ``sampled`` and/or ``greedy``.
        random_agent: include the random layerwise agent (sampled).
        max_runs_per_call: most runs in one vmapped call (memory bound).
        sequential: run the same runs one at a time (``jit`` of one run, a Python loop over
            runs) instead of vmapped; for benchmarks/eval_grid.py. Same results.
    """
    t_start = time.perf_counter()
    sc = make_scenario(scenario) if isinstance(scenario, str) else scenario
    seeds = tuple(range(seeds)) if isinstance(seeds, int) else tuple(int(s) for s in seeds)
    lrs, wds = tuple(float(x) for x in lrs), tuple(float(x) for x in weight_decays)
    _validate_grid(lrs, wds, seeds)
    unknown = [m for m in methods if m not in BASELINES]
    if unknown:
        raise ValueError(f"unknown methods {unknown}; choose from {list(BASELINES)}.")
    bad_modes = [m for m in policy_modes if m not in POLICY_MODES]
    if bad_modes or not policy_modes:
        raise ValueError(f"policy modes {list(policy_modes)} invalid; use {list(POLICY_MODES)}.")
    if int(max_runs_per_call) <= 0:
        raise ValueError(f"max_runs_per_call must be positive, got {max_runs_per_call}.")
    check_optax()
    sources = [p if isinstance(p, PolicySource) else describe_policy(p) for p in policies]

    def execute(fn, args, shared=()):
        if sequential:
            return sequential_runs(fn, args, shared)
        return vmapped_runs(fn, args, max_runs_per_call, shared)

    gen = InitialConditionsGenerator(lr=max(lrs), weight_decay=wds[0])
    base_env = Ganno(gen, **sc.env_kwargs(), difference_reward=False, track_test=True)
    chance = 1.0 / base_env.dataset.num_classes
    trainer, c = base_env.trainer, sc.num_chunks
    steps = np.arange(c + 1, dtype=np.int64) * sc.tau
    runsets: List[RunSet] = []
    log(
        f"[evaluate] {sc.name}: {base_env.num_layers} layers, {sc.sl_steps} SGD steps "
        f"(tau {sc.tau}), LRs {list(lrs)}, weight decays {list(wds)}, seeds {list(seeds)}"
    )

    def add(method: str, info: MethodInfo, mode: str, grid, out, seconds: float, policy: str = ""):
        lr, wd, seed = grid
        runsets.append(
            RunSet(
                method=method,
                label=info.label,
                group=info.group,
                mode=mode,
                lr=lr,
                weight_decay=wd,
                seed=seed,
                steps=steps,
                test_accuracy=out["test_accuracy"],
                val_accuracy=out["val_accuracy"],
                train_loss=out["train_loss"],
                lrs=out["lrs"],
                diverged=out["diverged"].astype(bool),
                takes_lr=info.takes_lr,
                policy=policy,
                seconds=seconds,
            )
        )

    # ---- baselines: AdamW schedules share one vmapped function, optimisers one each.
    positive = tuple(lr for lr in lrs if lr > 0)
    sched = tuple(m for m in methods if m in SCHEDULE_NAMES)
    families: List[Tuple[Any, Tuple[str, ...]]] = []
    if sched:
        families.append((sched, sched))
    families += [(m, (m,)) for m in methods if m in OPTIMIZER_NAMES]
    for family, names in families:
        takes = BASELINES[names[0]].takes_lr
        if takes and not positive:
            log(f"[evaluate] skipping {list(names)}: no positive LR in the grid")
            continue
        lr_g, wd_g, seed_g = _grid(positive if takes else (float("nan"),), wds, seeds)
        r = lr_g.shape[0]
        idx = np.repeat(np.arange(len(names), dtype=np.int32), r)
        args = [
            _keys(np.tile(seed_g, len(names))),
            np.nan_to_num(np.tile(lr_g, len(names)), nan=1.0).astype(np.float32),
            np.tile(wd_g, len(names)).astype(np.float32),
            idx,
        ]
        t0 = time.perf_counter()
        out = execute(make_baseline_run(trainer, family, c, chance), args)
        dt = time.perf_counter() - t0
        log(f"[evaluate] {', '.join(names)}: {len(idx)} runs in {dt:.1f} s")
        for j, name in enumerate(names):
            part = jax.tree_util.tree_map(lambda x: x[j * r : (j + 1) * r], out)
            add(name, BASELINES[name], "", (lr_g, wd_g, seed_g), part, dt * r / len(idx))

    # ---- policies (GANNO, ablations, random agent): the env in evaluation mode.
    if random_agent:
        rnd = RandomPolicy(base_env.action_table.entries, base_env.lr_max)
        sources.append(PolicySource("Random layerwise agent", "random", rnd))
    # A fixed-distribution agent (group "random") is only sampled; trained policies in every mode.
    runners = [(s, ("sampled",) if s.group == "random" else tuple(policy_modes)) for s in sources]
    lr_g, wd_g, seed_g = _grid(lrs, wds, seeds)
    r = len(seed_g)
    policy_runs: Dict[Tuple, Tuple[Ganno, Callable]] = {}
    for src, modes in runners:
        pol = src.policy
        env_key = (tuple(pol.feature_names), tuple(pol.action_table), float(pol.lr_max), src.single_agent)
        if env_key not in policy_runs:  # policies of one env config share env and compiled run
            env = Ganno(
                gen,
                **sc.env_kwargs(),
                difference_reward=False,
                track_test=True,
                features=env_key[0],
                action_table=env_key[1],
                lr_max=env_key[2],
                single_agent=env_key[3],
            )
            policy_runs[env_key] = (env, make_policy_run(env, chance))
        env, run = policy_runs[env_key]
        if hasattr(pol, "check_env"):
            pol.check_env(env)
        # Every mode of a policy in one call: greedy is a traced per-run flag.
        greedy = np.repeat(np.array([m == "greedy" for m in modes]), r)
        args = [
            _keys(np.tile(seed_g, len(modes))),
            np.tile(lr_g, len(modes)).astype(np.float32),
            np.tile(wd_g, len(modes)).astype(np.float32),
            greedy,
        ]
        t0 = time.perf_counter()
        out = execute(run, args, shared=(pol,))
        dt = time.perf_counter() - t0
        log(f"[evaluate] {src.label} ({', '.join(modes)}): {len(greedy)} runs in {dt:.1f} s")
        for j, mode in enumerate(modes):
            part = jax.tree_util.tree_map(lambda x: x[j * r : (j + 1) * r], out)
            label = src.label if src.group == "random" else f"{src.label} ({mode})"
            method = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")
            add(method, MethodInfo(label, src.group), mode, (lr_g, wd_g, seed_g), part, dt / len(modes), policy=src.path)

    unavailable = {m: BASELINES[m].note for m in methods if m in UNAVAILABLE}
    for m, why in unavailable.items():
        log(f"[evaluate] {BASELINES[m].label}: not run ({why})")
    ev = Evaluation(sc, lrs, wds, seeds, runsets, unavailable, time.perf_counter() - t_start, base_env.dataset.num_classes)
    log(f"[evaluate] done in {ev.seconds:.1f} s")
    return ev


# ============================================================================ CLI
def _floats(text: str, what: str) -> Tuple[float, ...]:
    try:
        return tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{what} must be comma-separated numbers like 1e-4,3e-4, got {text!r}."
        ) from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ganno evaluate",
        description="Evaluate trained GANNO policies zero-shot against handcrafted schedules, "
        "learned/LR-free optimisers and a random layerwise agent; writes results/<name>/.",
    )
    p.add_argument(
        "--policy",
        action="append",
        default=[],
        metavar="[LABEL=]PATH",
        help="a trained policy directory (repeatable); the label defaults to GANNO or the "
        "ablation name read from the policy (GANNO-LR-only, ...).",
    )
    p.add_argument(
        "--scenario",
        default="mlp5-mnist_5k",
        help="a configs/env/scenario/<name>.yaml name (mlp5-mnist_5k, cnn5-mnist_5k, ...) or any "
        "<network>-<dataset>, e.g. mlp3-digits (default mlp5-mnist_5k)",
    )
    p.add_argument("--name", default=None, help="results/<name>/ (default: the scenario)")
    p.add_argument("--out", default="results", help="parent folder of the results (default results)")
    p.add_argument("--lrs", default=",".join(f"{x:g}" for x in DEFAULT_LRS), help="initial LR grid")
    p.add_argument(
        "--weight-decays", default=",".join(f"{x:g}" for x in DEFAULT_WEIGHT_DECAYS), help="weight-decay grid"
    )
    p.add_argument("--seeds", type=int, default=DEFAULT_SEEDS, help="number of seeds (0..n-1)")
    p.add_argument(
        "--methods",
        default="all",
        help=f"comma-separated baselines or 'all' or 'none' (all: {','.join(DEFAULT_METHODS)})",
    )
    p.add_argument("--modes", default="sampled,greedy", help="policy action modes: sampled,greedy")
    p.add_argument("--no-random", action="store_true", help="leave out the random layerwise agent")
    p.add_argument("--tau", type=int, default=None, help="SGD steps per agent decision")
    p.add_argument("--sl-steps", type=int, default=None, help="SGD steps per run (the budget)")
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--hidden", type=int, default=None, help="MLP hidden units")
    p.add_argument("--width", type=int, default=None, help="CNN base channels")
    p.add_argument("--data-dir", default=None, help="tensorflow-datasets data_dir for tfds: datasets")
    p.add_argument("--max-runs-per-call", type=int, default=128, help="runs per vmapped call")
    p.add_argument("--figure-lr", type=float, default=None, help="grid LR the figures show (default 1e-3)")
    p.add_argument("--no-figures", action="store_true")
    return p


def main(argv: Optional[Sequence[str]] = None) -> Evaluation:
    from mava_ganno.evaluation import store as results

    args = build_parser().parse_args(argv)
    try:
        lrs = _floats(args.lrs, "--lrs")
        wds = _floats(args.weight_decays, "--weight-decays")
    except argparse.ArgumentTypeError as e:
        raise SystemExit(f"ganno evaluate: {e}")
    if args.seeds <= 0:
        raise SystemExit(f"ganno evaluate: --seeds must be >= 1, got {args.seeds}.")
    if args.methods == "all":
        methods = DEFAULT_METHODS
    elif args.methods == "none":
        methods = ()
    else:
        methods = tuple(m.strip() for m in args.methods.split(",") if m.strip())
    modes = tuple(m.strip() for m in args.modes.split(",") if m.strip())
    scenario = make_scenario(
        args.scenario,
        tau=args.tau,
        sl_steps=args.sl_steps,
        batch_size=args.batch_size,
        hidden=args.hidden,
        width=args.width,
        data_dir=args.data_dir,
    )
    sources = []
    for arg in args.policy:
        label, path = parse_policy_arg(arg)
        sources.append(describe_policy(load_policy_any(path), path=path, label=label))
    ev = evaluate(
        scenario,
        sources,
        lrs=lrs,
        weight_decays=wds,
        seeds=args.seeds,
        methods=methods,
        policy_modes=modes,
        random_agent=not args.no_random,
        max_runs_per_call=args.max_runs_per_call,
    )
    out_dir = os.path.join(args.out, args.name or scenario.name.replace(":", "_"))
    files = results.write_all(
        ev, out_dir, figures=not args.no_figures, figure_lr=args.figure_lr, command=sys.argv
    )
    print(f"[evaluate] wrote {len(files)} files to {out_dir}/: " + ", ".join(sorted(os.path.basename(f) for f in files)))
    return ev


if __name__ == "__main__":
    main()
