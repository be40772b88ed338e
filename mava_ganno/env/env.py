"""The GANNO environment: training a neural network as a cooperative layer-per-agent task."""

from __future__ import annotations

import difflib
import functools
import inspect
import math
from typing import Any, Dict, Optional, Sequence, Tuple, Union

import chex
import jax
import jax.numpy as jnp
import numpy as np
from jumanji import specs
from jumanji.env import Environment
from jumanji.types import TimeStep, restart, termination, transition

from mava_ganno.backend.datasets import load_dataset
from mava_ganno.backend.networks import make_network
from mava_ganno.backend.task import TASK_FIELDS, Task
from mava_ganno.backend.trainer import MinibatchPlan, SLTrainer, TrainState, reset_keys
from mava_ganno.env.actions import DEFAULT_ACTION_TABLE, ActionTable, check_lr_decay, decay_ratio, within_decision_scale
from mava_ganno.env.counterfactuals import BranchContext, Counterfactual
from mava_ganno.env.generator import InitialConditions, InitialConditionsGenerator
from mava_ganno.env.observations import agent_layout, feature_dim, observe, resolve_features
from mava_ganno.env.rewards import RewardFn, StepOutcome, make_reward
from mava_ganno.env.specs import spec as _spec
from mava_ganno.env.stats import LOSS_CAP, global_stats
from mava_ganno.env.types import Observation, State
from mava_ganno.env.viewer import GannoViewer
from mava_ganno.layers import CONVOLUTIONAL, LayerAgents


def _check_arguments(lr_max: Any, measure_batch: str, counterfactual: str, eval_batch_size: Any) -> None:
    """``ValueError`` naming the first bad constructor argument and a value that works (the
    task's own arguments are checked by ``Task``)."""
    if counterfactual not in ("auto", "vmap", "sequential", "fused"):
        raise ValueError(f"counterfactual must be 'auto', 'vmap', 'sequential' or 'fused', got {counterfactual!r}.")
    if measure_batch not in ("fresh", "next"):
        raise ValueError(f"measure_batch must be 'fresh' or 'next', got {measure_batch!r}.")
    if isinstance(lr_max, bool) or not isinstance(lr_max, (int, float, np.number)) or not (0 < lr_max < math.inf):
        raise ValueError(f"lr_max must be a finite number > 0 (default 0.1), got {lr_max!r}.")
    if isinstance(eval_batch_size, bool) or not isinstance(eval_batch_size, (int, np.integer)) or eval_batch_size <= 0:
        raise ValueError(f"eval_batch_size must be a positive integer (default 1024), got {eval_batch_size!r}.")


def _check_injected(reward_fn: Any, counterfactual_fn: Any) -> None:
    """``TypeError``/``ValueError`` unless ``reward_fn`` is a ``RewardFn`` and
    ``counterfactual_fn`` a ``Counterfactual`` (or None, when the reward needs no branch)."""
    if not isinstance(reward_fn, RewardFn):
        raise TypeError(f"reward_fn must be a mava_ganno.env.rewards.RewardFn (with counterfactual_fn), got {reward_fn!r}.")
    if counterfactual_fn is not None and not isinstance(counterfactual_fn, Counterfactual):
        raise TypeError(f"counterfactual_fn must be a mava_ganno.env.counterfactuals.Counterfactual or None, got {counterfactual_fn!r}.")
    if reward_fn.needs_counterfactual and counterfactual_fn is None:
        raise ValueError(f"reward_fn={reward_fn!r} compares with a counterfactual branch: give counterfactual_fn too (e.g. NoopStep()).")


def resolve_counterfactual(counterfactual: str, agents: LayerAgents) -> str:
    """How the difference reward's two branches run: ``counterfactual`` itself, or for
    ``auto`` the faster way measured on 2 CPU cores (docs/benchmarks.md): ``fused`` for a
    network with convolutional layers (cnn2: 1.8x an evaluation step against 2.0x sequential),
    ``sequential`` otherwise (mlp2: fused 2.1-2.2x against 2.0x)."""
    if counterfactual != "auto":
        return counterfactual
    convolutional = any(a.layer_type == CONVOLUTIONAL.name for a in agents.agents)
    return "fused" if convolutional else "sequential"


class Ganno(Environment):
    """Training a neural network, where every trainable layer is an agent.

    Each env step, every layer agent picks an action from the action table that changes its
    own learning rate; the network then trains ``tau`` AdamW steps (layerwise learning rates,
    decoupled weight decay) and the agents observe the new state.

    - observation: ``Observation``
        - agents_view: (N, F) float32, global features (train/hold-out accuracy and loss,
          non-finite flag, training progress, loss ratio, initial LR and weight decay) and
          the agent's layer features (LR, previous action, layer type, depth, LAMB trust
          ratio, grad/update/weight norms, weight mean/variance); see
          ``mava_ganno.env.observations`` for every feature and its scaling. The ``robust``
          set adds losses and accuracies relative to chance level and the train-loss trend.
        - action_mask: (N, A) bool, all True.
        - step_count: (N,) int32.
    - action: (N,) int32, an index into the action table for each agent (``+0, *1.01, *1.1,
      /1.01, /1.1, +5e-4, -5e-4, +1e-3, -1e-3`` by default); the new LR is clipped to
      ``[0, lr_max]``. With ``lr_decay="cosine"`` every LR is first multiplied by one step of a
      cosine decay to 0 over the episode, so the no-op follows a cosine schedule from the
      current LR (``mava_ganno.env.actions.decay_ratio``); with ``"cosine_step"`` the LR also
      follows that decay at every SGD step within the env step (observations show its value
      at the env step's first SGD step); ``"wsd"`` and ``"wsd_step"`` do the same with WSD's
      stable and decay phases (held for four fifths of the episode, then linear to 0).
    - reward: (N,) float32, shared: hold-out accuracy, or with ``difference_reward`` the
      accuracy minus that of a counterfactual copy trained with every LR unchanged (exactly 0
      when all agents pick the no-op); ``divergence_reward`` when the loss becomes NaN/inf.
      Options: a validation-loss term (``reward_loss_weight``) and an episode-level
      counterfactual (``reward_counterfactual``: the change of the gap to a reference episode
      with a constant or cosine LR, so the return is the final gap). See
      ``mava_ganno.env.rewards``.
    - episode: ``time_limit = sl_steps // tau`` env steps, then the episode terminates (the
      training run is over). A diverged run terminates at once; its parameters are rolled
      back to the last finite ones so nothing non-finite leaves the environment. ``reset``
      draws every minibatch of the episode at once (``State.plan``, (time_limit + 1) x tau x
      batch_size int32 indices): the same indices as drawing one chunk per step, ~10% less CPU
      per MLP step (docs/benchmarks.md).
    - extras: train/hold-out loss and accuracy, ``layer_lrs`` (L,), ``diverged``,
      ``invalid_actions`` (how many of the step's actions were outside the table: inside jit
      they act and are observed as the no-op), ``counterfactual_val_accuracy`` with a
      counterfactual branch, ``test_loss``/``test_accuracy`` with ``track_test``.

    Args:
        task: the network, dataset and budget (``mava_ganno.backend.Task``: ``tau`` SGD steps
            per env step, ``sl_steps`` per episode, batch size, sizes, data split seed and
            folder); default ``Task()``, mlp2 on digits, 2,000 steps.
        generator: samples the initial conditions (initial LR, weight decay) at each reset.
            Default: log-uniform LR in [1e-5, 1e-2] and weight decay in [1e-5, 1e-1].
        reward_fn, counterfactual_fn: the reward function (``mava_ganno.env.rewards``) and the
            counterfactual branch it compares with (``mava_ganno.env.counterfactuals``; None:
            no branch is trained). Default ``make_reward()``: the paper's difference reward
            against the no-op step. ``make_reward(difference_reward=False)`` gives the plain
            hold-out accuracy used for evaluation.
        features: observation features, a preset name or a list (observations.FEATURE_SETS):
            ``full`` (default, the paper's), ``robust`` (full + chance-relative features), ...
        action_table: list of action strings (actions.DEFAULT_ACTION_TABLE), or a preset name
            (``paper``, ``rich``: actions.ACTION_TABLES).
        lr_max: upper clip of every learning rate.
        lr_decay: ``"none"`` (default), ``"cosine"``, ``"cosine_step"``, ``"wsd"`` or
            ``"wsd_step"``: what every LR does between two decisions before the action applies,
            and for the ``_step`` forms within the decision too (``actions.LR_DECAYS``);
            observations show the LR after the action, the one the layer trains with (at the
            env step's first SGD step).
        single_agent: one agent sets one global LR from global features (the ablation).
        track_test: also evaluate the test split every step (``extras``), for evaluation.
        eval_batch_size: examples per batch when the hold-out splits are evaluated.
        viewer: renders states (``render``/``animate``); default a ``GannoViewer``.
        counterfactual: how the difference reward's two branches (actual, counterfactual)
            run, always on the same minibatches (drawn once): ``sequential`` one after the
            other (``lax.map``), ``fused`` both inside each SGD step of one scan (the minibatch
            gathered once; XLA may run the two branches' operations side by side), or ``vmap``
            as one batched computation. ``auto`` (default): ``fused`` for networks with
            convolutional layers, ``sequential`` otherwise (``resolve_counterfactual``).
            Measured on 2 CPU cores (jax 0.10, docs/benchmarks.md): on cnn2 fused costs 1.8x
            an evaluation step, sequential 2.0x; on mlp2 sequential 2.0x, fused 2.1-2.2x; a
            vmap 2.15-2.45x (1 and 4 vmapped environments, MLP and CNN), and on jax < 0.5
            (Mava's pinned 0.4.30) a branch-vmap nested in an env-vmap is 5-10x slower. All
            give the same reward up to float rounding; pass ``sequential`` or ``vmap`` to
            reproduce results made with another mode exactly.
        measure_batch: minibatch the layer statistics (g, u) and the reset's train loss are
            measured on: ``fresh`` (default) a minibatch of its own; ``next`` the first
            minibatch of the next tau training steps, i.e. what ``mava_ganno.optimiser`` observes
            (the gradient passed to its update), so the two reproduce each other exactly.

    Example:
        >>> import jax, jumanji, mava_ganno
        >>> env = jumanji.make("GANNO-v0", network="mlp2", dataset="digits", tau=10, sl_steps=50)
        >>> # the same: Ganno(Task("mlp2", "digits", tau=10, sl_steps=50)); make_ganno's flat keywords
        >>> state, timestep = jax.jit(env.reset)(jax.random.PRNGKey(0))
        >>> actions = jnp.zeros(env.num_agents, jnp.int32)  # everyone: no-op
        >>> state, timestep = jax.jit(env.step)(state, actions)
    """

    def __init__(
        self,
        task: Optional[Task] = None,
        generator: Optional[InitialConditionsGenerator] = None,
        *,
        reward_fn: Optional[RewardFn] = None,
        counterfactual_fn: Optional[Counterfactual] = None,
        features: Union[str, Sequence[str]] = "full",
        action_table: Sequence[str] = DEFAULT_ACTION_TABLE,
        lr_max: float = 0.1,
        lr_decay: str = "none",
        single_agent: bool = False,
        track_test: bool = False,
        eval_batch_size: int = 1024,
        measure_batch: str = "fresh",
        counterfactual: str = "auto",
        viewer: Optional[GannoViewer] = None,
    ):
        # Validate everything cheap before any data is loaded or anything is compiled.
        task = task if task is not None else Task()
        if not isinstance(task, Task):
            raise TypeError(f"task must be a mava_ganno.backend.Task, got {task!r}; e.g. Task('mlp2', 'digits').")
        _check_arguments(lr_max, measure_batch, counterfactual, eval_batch_size)
        self.task = task
        self.measure_batch = measure_batch
        self.generator = generator if generator is not None else InitialConditionsGenerator()
        self.action_table = ActionTable.from_strings(action_table)
        if reward_fn is None:
            if counterfactual_fn is not None:
                raise ValueError("counterfactual_fn was given without reward_fn: give the reward function that compares with it too.")
            reward_fn, counterfactual_fn = make_reward()
        else:
            _check_injected(reward_fn, counterfactual_fn)
        self.reward_fn, self.counterfactual_fn = reward_fn, counterfactual_fn
        self.difference_reward = counterfactual_fn is not None
        if self.difference_reward:
            self.action_table.noop_index  # noqa: B018  (raises: the counterfactual needs a no-op)
        self.divergence_reward = float(reward_fn.divergence_reward)
        self.noop_action = self.action_table.initial_previous_action
        self.features = resolve_features(features, single_agent)
        self.tau, self.sl_steps = task.tau, task.sl_steps
        self.time_limit = task.num_chunks
        self.lr_max = float(lr_max)
        self.lr_decay = check_lr_decay(lr_decay)
        self.single_agent = bool(single_agent)
        self.track_test = bool(track_test)
        self.network_name, self.dataset_name = task.network, task.dataset

        self.dataset = load_dataset(task.dataset, seed=task.data_seed, data_dir=task.data_dir)
        self.network = make_network(task.network, self.dataset.num_classes, hidden=task.hidden, width=task.width)
        self.trainer = SLTrainer(self.network, self.dataset, task.batch_size, task.tau, eval_batch_size=eval_batch_size)
        self.layer_agents = self.trainer.agents
        self.counterfactual = resolve_counterfactual(counterfactual, self.layer_agents)
        self.num_layers = self.trainer.num_agents
        # who the agents are; with single_agent every layer follows agent 0.
        self.layout = agent_layout(self.layer_agents, self.single_agent)
        self.num_agents = self.layout.num_agents
        self.action_dim = self.action_table.num_actions
        self.obs_dim = feature_dim(self.features, self.action_dim)
        self.viewer = viewer if viewer is not None else GannoViewer(self.tau, self.time_limit, self.layout.layer_of_lr)
        super().__init__()

    def __repr__(self) -> str:
        return (
            f"Ganno(network={self.network_name!r}, dataset={self.dataset_name!r}, tau={self.tau}, "
            f"time_limit={self.time_limit}, num_agents={self.num_agents}, "
            f"difference_reward={self.difference_reward})"
        )

    # ------------------------------------------------------------------ helpers
    def layer_lrs(self, lrs: chex.Array) -> chex.Array:
        """(N,) agent learning rates -> (L,) per-layer learning rates."""
        return lrs[jnp.asarray(self.layout.layer_of_lr)]

    def lr_ratio(self, step_count: chex.Array) -> chex.Array:
        """() the factor every LR is multiplied by at env step ``step_count`` before the action
        applies (1 without ``lr_decay``; ``actions.decay_ratio``)."""
        return decay_ratio(self.lr_decay, step_count, self.time_limit)

    def sgd_step_lrs(self, layer_lrs: chex.Array, step_count: chex.Array, hold: chex.Array = False) -> chex.Array:
        """The (L,) layer LRs of env step ``step_count`` as the trainer takes them: (L,) held for
        the tau SGD steps, or with ``lr_decay="cosine_step"`` (tau, L), one row per SGD step
        (``actions.within_decision_scale``; every row the same where ``hold``)."""
        scale = within_decision_scale(self.lr_decay, step_count, self.tau, self.time_limit)
        if scale is None:
            return layer_lrs
        return jnp.where(hold, 1.0, scale)[:, None] * layer_lrs[None, :]

    def _same_resolution(self, lrs: chex.Array, cf_lrs: chex.Array) -> Tuple[chex.Array, chex.Array]:
        """The two branches' LRs with one shape: a branch held for the env step ((L,)) beside
        one that moves per SGD step ((tau, L)) is repeated over the tau steps."""
        if lrs.ndim == cf_lrs.ndim:
            return lrs, cf_lrs
        per_step = (self.tau, self.num_layers)
        return jnp.broadcast_to(lrs, per_step), jnp.broadcast_to(cf_lrs, per_step)

    def _chunk(self, plan: MinibatchPlan, step_count: chex.Array):
        """(carried key, training minibatches (tau, B), statistics minibatch (B,)) of env step
        ``step_count``, from the episode's plan; with ``measure_batch="next"`` the statistics
        minibatch is the first one the next step trains on. Past the episode's end the last
        planned chunk repeats."""
        key, train = plan.keys[step_count], plan.train[step_count]
        measure = plan.measure[step_count] if self.measure_batch == "fresh" else plan.train[step_count + 1, 0]
        return key, train, measure

    def _observation(self, state: State) -> Observation:
        n = self.num_agents
        return Observation(
            agents_view=observe(
                self.features,
                self.layout,
                state.global_stats,
                state.layer_stats,
                state.lrs,
                state.prev_actions,
                self.action_dim,
                self.lr_max,
                self.dataset.num_classes,
            ),
            action_mask=jnp.ones((n, self.action_dim), bool),
            step_count=jnp.full((n,), state.step_count, jnp.int32),
        )

    def _extras(self, state: State, ts: TrainState, diverged, cf_val_acc, invalid_actions=0) -> Dict[str, chex.Array]:
        g = state.global_stats
        extras = {
            # actions outside the table in this step (inside jit they act as the no-op)
            "invalid_actions": jnp.asarray(invalid_actions, jnp.int32),
            "train_loss": g.train_loss,
            "train_accuracy": g.train_accuracy,
            "val_loss": g.val_loss,
            "val_accuracy": g.val_accuracy,
            "layer_lrs": self.layer_lrs(state.lrs),
            "diverged": jnp.asarray(diverged, bool),
        }
        if self.difference_reward:
            extras["counterfactual_val_accuracy"] = jnp.asarray(cf_val_acc, jnp.float32)
        if self.track_test:
            test_loss, test_acc = self.trainer.evaluate(ts, "test")
            extras["test_loss"] = jnp.nan_to_num(test_loss, nan=LOSS_CAP, posinf=LOSS_CAP)
            extras["test_accuracy"] = test_acc
        return extras

    # ------------------------------------------------------------------ API
    def reset(self, key: chex.PRNGKey) -> Tuple[State, TimeStep]:
        return self._reset(key, None)

    def reset_with_conditions(
        self, key: chex.PRNGKey, initial_lr: chex.Numeric, weight_decay: chex.Numeric
    ) -> Tuple[State, TimeStep]:
        """``reset(key)`` with the initial conditions given instead of sampled.

        The values may be traced, so evaluation grids vmap over them with one environment;
        everything else (network init, data order, observation) is exactly ``reset(key)``.
        """
        ic = InitialConditions(
            jnp.asarray(initial_lr, jnp.float32), jnp.asarray(weight_decay, jnp.float32)
        )
        return self._reset(key, ic)

    def _reset(
        self, key: chex.PRNGKey, ic: Optional[InitialConditions]
    ) -> Tuple[State, TimeStep]:
        key, k_ic, k_init, k_measure = reset_keys(key)
        if ic is None:
            ic = self.generator(k_ic)
        ts = self.trainer.init(k_init)
        # every minibatch of the episode at once (time_limit + 1 chunks: "next" measures on the
        # chunk after the last step)
        plan = self.trainer.minibatch_plan(key, self.time_limit + 1)
        layer_stats, mb_loss, mb_acc = self.trainer.measure(
            ts, ic.weight_decay, k_measure, None if self.measure_batch == "fresh" else plan.train[0, 0]
        )
        val_loss, val_acc = self.trainer.evaluate(ts, "val")
        lrs = jnp.full((self.num_agents,), ic.initial_lr, jnp.float32)
        state = State(
            key=key,
            train_state=ts,
            lrs=lrs,
            prev_actions=jnp.full((self.num_agents,), self.noop_action, jnp.int32),
            step_count=jnp.asarray(0, jnp.int32),
            global_stats=global_stats(
                mb_loss, mb_acc, val_loss, val_acc, 0.0, ic.initial_lr, ic.weight_decay
            ),
            layer_stats=layer_stats,
            plan=plan,
        )
        if self.counterfactual_fn is not None:
            state = state.replace(reference=self.counterfactual_fn.init(ts, val_acc, state.global_stats.val_loss))
        extras = self._extras(state, ts, False, val_acc)
        return state, restart(self._observation(state), extras, shape=(self.num_agents,))

    def _train_branches(self, start, cf_start, lrs, cf_lrs, weight_decay, indices):
        """The difference reward's two branches, actual and counterfactual, on the same
        minibatches ``indices``: each trains tau steps (from ``start`` with the (L,) ``lrs``, and
        from ``cf_start`` with ``cf_lrs``; ``cf_start`` None: from ``start`` too) and is then
        evaluated on the hold-out split. Returns (train states, train losses, train accuracies,
        hold-out losses, hold-out accuracies), each stacked over (actual, counterfactual), run
        as ``self.counterfactual`` says (see ``__init__``)."""
        evaluate = functools.partial(self.trainer.evaluate, split="val")
        if self.counterfactual == "fused":  # both branches inside each SGD step of one scan
            starts = (start, start if cf_start is None else cf_start)
            outs = self.trainer.train_branches_on(starts, (lrs, cf_lrs), weight_decay, indices)
            outs = tuple(o + tuple(evaluate(o[0])) for o in outs)
            return jax.tree_util.tree_map(lambda *b: jnp.stack(b), *outs)

        def run_branch(ts0, branch_lrs):
            ts, loss, acc = self.trainer.train_on(ts0, branch_lrs, weight_decay, indices)
            return (ts, loss, acc) + tuple(evaluate(ts))

        if cf_start is None:  # one start, shared by both branches (not copied)
            branch, args = functools.partial(run_branch, start), jnp.stack([lrs, cf_lrs])
        else:
            starts = jax.tree_util.tree_map(lambda a, b: jnp.stack([a, b]), start, cf_start)
            branch, args = (lambda x: run_branch(*x)), (starts, jnp.stack([lrs, cf_lrs]))
        if self.counterfactual == "vmap":
            return jax.vmap(branch)(args)
        return jax.lax.map(branch, args)  # sequential: one branch after the other

    def step(self, state: State, action: chex.Array, hold_lrs: chex.Array = False) -> Tuple[State, TimeStep]:
        """One decision and its tau SGD steps. ``hold_lrs`` (a bool, may be traced): keep every
        LR fixed over this env step's SGD steps even with ``lr_decay="cosine_step"``, so that an
        evaluation can run a schedule held per decision through the same env as the policy
        (``evaluation.rollouts``); no effect with the other decays."""
        action = jnp.asarray(action, jnp.int32).reshape((self.num_agents,))
        base_lrs = state.lrs * self.lr_ratio(state.step_count)  # the no-op's LRs
        new_lrs = self.action_table.apply(base_lrs, action, self.lr_max)
        key, indices, measure_indices = self._chunk(state.plan, state.step_count)  # both branches' minibatches
        wd = state.global_stats.weight_decay
        reference = state.reference
        new_layer_lrs = self.sgd_step_lrs(self.layer_lrs(new_lrs), state.step_count, hold_lrs)
        if self.difference_reward:
            unchanged = self.sgd_step_lrs(self.layer_lrs(base_lrs), state.step_count, hold_lrs)
            ctx = BranchContext(state, new_layer_lrs, unchanged, self.num_layers, self.time_limit, self.tau)
            cf_start, cf_lrs = self.counterfactual_fn.start(ctx)
            new_layer_lrs, cf_lrs = self._same_resolution(new_layer_lrs, cf_lrs)
            ts_b, loss_b, acc_b, vloss_b, vacc_b = self._train_branches(state.train_state, cf_start, new_layer_lrs, cf_lrs, wd, indices)
            ts = jax.tree_util.tree_map(lambda x: x[0], ts_b)
            loss, acc, val_loss, val_acc = loss_b[0], acc_b[0], vloss_b[0], vacc_b[0]
            cf_diverged = ~(jnp.isfinite(loss_b[1]) & jnp.isfinite(vloss_b[1]))
            reference, cf_val_acc, cf_val_loss, cf_diverged = self.counterfactual_fn.finish(
                reference, ts_b, vacc_b[1], vloss_b[1], cf_diverged
            )
        else:
            ts, loss, acc = self.trainer.train_on(state.train_state, new_layer_lrs, wd, indices)
            val_loss, val_acc = self.trainer.evaluate(ts, "val")
            cf_val_acc, cf_val_loss, cf_diverged = val_acc, val_loss, jnp.asarray(False)
        step_count = state.step_count + 1
        stats = global_stats(
            loss, acc, val_loss, val_acc, step_count.astype(jnp.float32) / self.time_limit,
            state.global_stats.initial_lr, wd, prev_train_loss=state.global_stats.train_loss,
        )
        diverged = stats.nonfinite
        # Nothing non-finite leaves the env: a diverged run keeps its last finite parameters.
        ts = jax.tree_util.tree_map(lambda new, old: jnp.where(diverged, old, new), ts, state.train_state)
        layer_stats, _, _ = self.trainer.measure(ts, wd, None, measure_indices)
        cap = lambda x: jnp.nan_to_num(x, nan=LOSS_CAP, posinf=LOSS_CAP)  # noqa: E731
        prev = state.reference
        reward = self.reward_fn(
            StepOutcome(
                val_acc, diverged, cf_val_acc, cf_diverged, jnp.all(new_lrs == base_lrs),
                val_loss=stats.val_loss, counterfactual_val_loss=cap(cf_val_loss),
                prev_val_accuracy=state.global_stats.val_accuracy,
                prev_counterfactual_val_accuracy=state.global_stats.val_accuracy if prev is None else prev.val_accuracy,
                prev_val_loss=state.global_stats.val_loss,
                prev_counterfactual_val_loss=state.global_stats.val_loss if prev is None else prev.val_loss,
            )
        )
        next_state = State(
            key=key,
            train_state=ts,
            lrs=new_lrs,
            prev_actions=jnp.where(self.action_table.valid(action), action, self.noop_action).astype(jnp.int32),
            step_count=step_count,
            global_stats=stats,
            layer_stats=layer_stats,
            plan=state.plan,
            reference=reference,
        )
        obs = self._observation(next_state)
        extras = self._extras(
            next_state, ts, diverged, jnp.where(cf_diverged, 0.0, cf_val_acc), (~self.action_table.valid(action)).sum()
        )
        rewards = jnp.full((self.num_agents,), reward, jnp.float32)
        done = diverged | (step_count >= self.time_limit)
        timestep = jax.lax.cond(
            done,
            lambda: termination(rewards, obs, extras, shape=(self.num_agents,)),
            lambda: transition(rewards, obs, extras=extras, shape=(self.num_agents,)),
        )
        return next_state, timestep

    # ------------------------------------------------------------------ specs
    @_spec
    def observation_spec(self) -> specs.Spec:
        n, a = self.num_agents, self.action_dim
        return specs.Spec(
            Observation,
            "ObservationSpec",
            agents_view=specs.Array((n, self.obs_dim), jnp.float32, "agents_view"),
            action_mask=specs.BoundedArray((n, a), bool, False, True, "action_mask"),
            step_count=specs.BoundedArray((n,), jnp.int32, 0, self.time_limit, "step_count"),
        )

    @_spec
    def action_spec(self) -> specs.MultiDiscreteArray:
        return specs.MultiDiscreteArray(
            num_values=jnp.full((self.num_agents,), self.action_dim, jnp.int32),
            name="action",
        )

    @_spec
    def reward_spec(self) -> specs.Array:
        return specs.Array((self.num_agents,), jnp.float32, "reward")

    @_spec
    def discount_spec(self) -> specs.BoundedArray:
        return specs.BoundedArray((self.num_agents,), jnp.float32, 0.0, 1.0, "discount")

    def render(self, state: State) -> Any:
        return self.viewer.render(state)

    def animate(self, states: Sequence[State], save_path: Optional[str] = None) -> Any:
        return self.viewer.animate(states, save_path=save_path)


# the reward keywords of ``make_ganno`` and their defaults (``make_reward``'s)
REWARD_KEYWORDS = {"difference_reward": True, "divergence_reward": -1.0, "reward_counterfactual": "noop_step", "reward_loss_weight": 0.0,
                   "reward_reference_hold": "first"}


def ganno_arguments(**kwargs: Any) -> Tuple[Task, Dict[str, Any]]:
    """``make_ganno``'s flat keyword arguments as ``(task, Ganno keyword arguments)``, checked
    without loading data or building anything: an unknown key is a ``TypeError`` naming the
    nearest known one, a bad value a ``ValueError`` (see ``make_ganno``)."""
    task_kwargs = {k: kwargs.pop(k) for k in TASK_FIELDS if k in kwargs}
    reward_kwargs = {k: kwargs.pop(k) for k in REWARD_KEYWORDS if k in kwargs}
    known = set(inspect.signature(Ganno.__init__).parameters) - {"self", "task", "generator"}
    unknown = sorted(set(kwargs) - known)
    if unknown:
        options = sorted(set(TASK_FIELDS) | set(REWARD_KEYWORDS) | known)
        hints = {u: difflib.get_close_matches(u, options, n=1) for u in unknown}
        said = ", ".join(f"{u!r}" + (f" (did you mean {h[0]!r}?)" if h else "") for u, h in hints.items())
        raise TypeError(f"unknown GANNO environment argument(s) {said}; known: {options}.")
    if kwargs.get("reward_fn") is not None:
        clashing = [f"{k}={v!r}" for k, v in reward_kwargs.items() if v != REWARD_KEYWORDS[k]]
        if clashing:
            raise ValueError(
                f"reward_fn={kwargs['reward_fn']!r} was given together with {', '.join(clashing)}; the injected reward "
                "function and counterfactual replace these keywords: give one or the other."
            )
    elif kwargs.get("counterfactual_fn") is None:
        kwargs["reward_fn"], kwargs["counterfactual_fn"] = make_reward(**{**REWARD_KEYWORDS, **reward_kwargs})
    return Task(**task_kwargs), kwargs


def make_ganno(generator: Optional[InitialConditionsGenerator] = None, **kwargs: Any) -> Ganno:
    """A ``Ganno`` environment from flat keyword arguments: what ``jumanji.make("GANNO-v0",
    ...)`` and the configs (``env.kwargs`` with a scenario's ``env_kwargs``) call.

    ``kwargs`` are the ``Task``'s fields (``network``, ``dataset``, ``tau``, ``sl_steps``, ...),
    the reward keywords (``difference_reward``: shape the reward against a counterfactual;
    ``divergence_reward``; ``reward_counterfactual``: ``noop_step`` or ``<schedule>_episode``
    (``constant_episode``, ``cosine_episode``, ``wsd_episode``, ...); ``reward_reference_hold``;
    ``reward_loss_weight``; see ``mava_ganno.env.rewards.make_reward``) and
    ``Ganno``'s own keyword arguments. An injected ``reward_fn`` replaces the reward keywords:
    giving both is an error naming them.
    """
    task, options = ganno_arguments(**kwargs)
    return Ganno(task, generator, **options)
