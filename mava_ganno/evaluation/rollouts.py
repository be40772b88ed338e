"""The one episode runner: a policy acts in the environment for a whole episode.

The evaluation harness, the main job and the training system's evaluator all run episodes
through ``make_episode_runner``; the policy acts only through its ``act`` (``GannoPolicy``,
``FixedPolicy``: ``init_hidden(num_agents)`` and ``act(hidden, agents_view, action_mask,
reset, key, greedy) -> (hidden, actions, probs)``).

Key chain: the episode's key resets the environment (network initialisation, minibatch order;
see ``Ganno.reset``) and ``fold_in(key, POLICY_KEY_SALT)`` starts the policy's own chain, so
every method run with one key trains the same network on the same minibatches.

Divergence is a result, not an error: once an episode is over (the environment terminated it,
e.g. a non-finite loss) its state is held, and ``present`` records it as the harness reports
it (accuracy at chance level, train loss inf, LRs NaN after the step that ended it).
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional

import chex
import jax
import jax.numpy as jnp
import numpy as np

from mava_ganno.backend.schedules import held_schedule_lr

POLICY_KEY_SALT = 7
RECORD_KEYS = ("train_loss", "val_accuracy", "test_accuracy", "val_loss", "test_loss", "layer_lrs")

# An ``lr_override(data, t) -> lr`` gives, before env step t, one LR that every layer is set to
# (the policy's action is replaced by the no-op), or NaN to let the policy act. The data is a
# per-run pytree, so schedules are data and share the compiled runner.
LROverride = Callable[[Any, chex.Array], chex.Array]


def _select(pred: chex.Array, on_true: Any, on_false: Any) -> Any:
    return jax.tree_util.tree_map(lambda a, b: jnp.where(pred, a, b), on_true, on_false)


def make_episode_runner(env: Any, lr_override: Optional[LROverride] = None, record_transitions: bool = False) -> Callable:
    """``run(policy, key, lr=None, weight_decay=None, greedy=False, override=None) -> dict``.

    One episode of ``env.time_limit`` steps; pure, so jittable and vmappable over every
    argument but ``policy`` (a pytree, usually passed unbatched). ``lr``/``weight_decay`` None
    samples the initial conditions from the environment's generator (``env.reset``), else
    ``env.reset_with_conditions``. ``greedy`` may be a traced bool.

    Returns arrays with a leading time axis: ``first`` (the reset's records) and per step
    ``reward`` (T,), ``alive`` (T,) bool (the episode was not over before the step: True for
    a prefix of the steps), ``diverged`` (T,) bool and the ``RECORD_KEYS`` the env's extras have.
    ``record_transitions`` adds what the agents saw and did (demonstrations, ``mava_ganno.offline``):
    ``obs`` (T, N, F) the observation each action was chosen from, ``actions`` (T, N) and
    ``last`` (T,) bool, the step ended the episode.
    """
    n, num_steps = env.num_agents, env.time_limit
    noop = env.action_table.noop_index if lr_override is not None else None  # raises if none

    def records(extras: Dict[str, chex.Array]) -> Dict[str, chex.Array]:
        return {k: extras[k] for k in RECORD_KEYS if k in extras}

    def run(policy, key, lr=None, weight_decay=None, greedy=False, override=None):
        if lr is None:
            state, ts = env.reset(key)
        else:
            state, ts = env.reset_with_conditions(key, lr, weight_decay)

        def body(carry, t):
            state, obs, hidden, over, k = carry
            k, k_act = jax.random.split(k)
            reset = jnp.full((n,), t == 0)
            hidden2, actions, _ = policy.act(hidden, obs.agents_view, obs.action_mask, reset, k_act, greedy)
            if lr_override is not None:
                lr_t = lr_override(override, t)
                use = jnp.isfinite(lr_t)
                # the env multiplies by its decay ratio before the no-op: divided here, so layers train at lr_t
                lr_t = lr_t / env.lr_ratio(t)
                state = state.replace(lrs=jnp.where(use, jnp.full((n,), lr_t, jnp.float32), state.lrs))
                actions = jnp.where(use, noop, actions).astype(jnp.int32)
            if lr_override is None:
                state2, ts2 = env.step(state, actions)
            else:  # an overridden LR is held for the env step's SGD steps, whatever the env's decay
                state2, ts2 = env.step(state, actions, hold_lrs=use)
            out = {
                **records(ts2.extras),
                "reward": ts2.reward[0],
                "alive": ~over,
                "diverged": ts2.extras["diverged"],
            }
            if record_transitions:
                out.update(obs=obs.agents_view, actions=actions, last=ts2.last())
            carry = (
                _select(over, state, state2),
                _select(over, obs, ts2.observation),
                jnp.where(over, hidden, hidden2),
                over | ts2.last(),
                k,
            )
            return carry, out

        init = (state, ts.observation, policy.init_hidden(n), jnp.asarray(False), jax.random.fold_in(key, POLICY_KEY_SALT))
        _, steps = jax.lax.scan(body, init, jnp.arange(num_steps))
        return {"first": records(ts.extras), **steps}

    return run


# What one evaluation run records (the policy runner and the baselines runner alike).
RUN_KEYS = ("train_loss", "val_accuracy", "test_accuracy", "val_loss", "test_loss", "lrs", "diverged")


def chance_loss(chance: float) -> float:
    """The cross-entropy of a uniform prediction over ``1 / chance`` classes: what a diverged
    run's hold-out loss is recorded as (as its accuracy is recorded as ``chance``)."""
    return float(-np.log(chance))


def present(episode: Dict[str, Any], chance: float) -> Dict[str, chex.Array]:
    """The harness's records of one episode: ``(T+1,)`` curves with entry 0 at reset.

    ``train_loss``, ``val_accuracy``/``val_loss`` and ``test_accuracy``/``test_loss`` (if
    tracked) are from the step at which the run diverged: inf for the train loss, chance level
    for the accuracies (``chance``) and the loss of a uniform prediction (``-log(chance)``)
    for the hold-out losses; ``lrs`` (T, L) the learning rates used in every step (NaN after
    divergence); ``diverged`` () bool.
    """
    dead = jnp.cumsum(episode["diverged"] & episode["alive"]) > 0  # diverged at or before t
    was_dead = ~episode["alive"]
    out = {"train_loss": jnp.where(dead, jnp.inf, episode["train_loss"])}
    for name in ("val_accuracy", "test_accuracy"):
        if name in episode:
            out[name] = jnp.where(dead, chance, episode[name])
    for name in ("val_loss", "test_loss"):
        if name in episode:
            out[name] = jnp.where(dead, chance_loss(chance), episode[name])
    out = {k: jnp.concatenate([jnp.reshape(episode["first"][k], (1,)), v]) for k, v in out.items()}
    out["lrs"] = jnp.where(was_dead[:, None], jnp.nan, episode["layer_lrs"])
    out["diverged"] = dead[-1]
    return out


def episode_summary(episode: Dict[str, Any]) -> Dict[str, chex.Array]:
    """What the training system's evaluator logs: return, length, final hold-out accuracy."""
    alive = episode["alive"]
    length = jnp.sum(alive).astype(jnp.int32)  # >= 1: every episode takes its first step
    return {
        "episode_return": jnp.sum(jnp.where(alive, episode["reward"], 0.0)),
        "episode_length": length,
        "final_val_accuracy": episode["val_accuracy"][length - 1],
    }


def make_policy_run(env: Any, chance: float) -> Callable:
    """``policy_runner(policy, seed_key, lr, wd, greedy) -> dict``: one evaluation episode
    through the one episode runner (``rollouts``), recorded as ``rollouts.present``.

    Jittable and vmappable over ``seed_key, lr, wd, greedy`` (``greedy`` a traced bool, so
    sampled and greedy runs share one compiled function); ``policy`` is a pytree argument
    (``GannoPolicy``, ``FixedPolicy`` or, in the harness, ``policies.SharedPolicy``, which lets
    both share one compiled runner), passed unbatched.
    """
    episode = make_episode_runner(env)

    def policy_runner(policy, seed_key, lr, wd, greedy):
        out = present(episode(policy, seed_key, lr, wd, greedy), chance)
        return {k: out[k] for k in RUN_KEYS}

    return policy_runner


# The policy, a constant LR and handcrafted schedules from the same initial LR, as data
# (lr_override): the main job compares with constant and cosine, the training system's
# validation suite with any of them.
METHODS = ("ganno", "constant", "cosine", "linear", "warmup_cosine", "onecycle", "wsd")


def method_lr(num_steps: int, hold: str = "first", tau: int = 1) -> Callable:
    """``lr_override((lr0, method), t)``: NaN for ``ganno`` (the policy acts), lr0 for
    ``constant``, and for a schedule (``cosine``, ``linear``, ``warmup_cosine``, ``onecycle``,
    ``wsd``) its LR for env step t of the episode's ``num_steps``, held for the env step's tau SGD
    steps: ``backend.schedules.held_schedule_lr`` with ``hold`` (``first``: the value at the env
    step's first SGD step; ``mean``: the mean over its ``tau`` SGD steps)."""
    held_schedule_lr(METHODS[2], 1.0, 0, num_steps, hold, tau)  # checks hold and tau now

    def lr_override(data: Any, t: Any) -> Any:
        lr0, method = data
        lr0 = jnp.asarray(lr0)
        schedules = [jnp.broadcast_to(held_schedule_lr(m, lr0, t, num_steps, hold, tau), lr0.shape).astype(lr0.dtype)
                     for m in METHODS[2:]]
        return jnp.stack([jnp.full_like(lr0, jnp.nan), lr0, *schedules])[method]

    return lr_override


def make_method_runner(env: Any, greedy: bool = False, hold: str = "first") -> Callable:
    """``run(policy, key, lrs (M,), methods (M,), weight_decay, greedy=greedy) -> records (M, ...)``.

    ``methods[i]`` indexes ``METHODS``; all of them run through the one episode runner in one
    compiled, vmapped function (the main job's zero-shot runs, the training system's
    validation suite). The same key gives every run
    the same initialisation and minibatch order; records as ``rollouts.present``. ``greedy``
    (a bool, or (M,) bools, one per run; traced, so both modes share the compiled function)
    picks the policy's most likely action instead of sampling it. ``hold`` says which LR of a
    schedule an env step holds (``method_lr``).
    """
    run = make_episode_runner(env, lr_override=method_lr(env.time_limit, hold, env.tau))
    chance = 1.0 / env.dataset.num_classes

    def one(policy, key, lr, method, wd, g):
        return present(run(policy, key, lr, wd, g, (lr, method)), chance)

    batched = jax.jit(jax.vmap(one, in_axes=(None, None, 0, 0, None, 0)))

    def runner(policy: Any, key: Any, lrs: Any, methods: Any, weight_decay: Any, greedy: Any = greedy):
        return batched(policy, key, lrs, methods, weight_decay, jnp.broadcast_to(jnp.asarray(greedy, bool), jnp.shape(lrs)))

    return runner
