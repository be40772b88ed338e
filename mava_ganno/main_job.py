"""The main job: train GANNO on a small network, then run it zero-shot on a deeper one.

    python -m mava_ganno.main_job            # or: ganno main / make run
    python -m mava_ganno.main_job --timesteps 50000 --run paper-budget system.seed=1

1. Trains the shared recurrent policy with recurrent IPPO on ``mlp2-digits`` (3 layer agents,
   difference reward; the embedded default, offline) for ``--timesteps`` (default 25,600:
   about half the paper's 50,000, so the whole job fits in 10 minutes on 2 CPU cores).
2. Runs the trained policy zero-shot on ``mlp5-mnist_5k`` (6 layer agents, another dataset)
   from several initial learning rates, next to a constant LR, a cosine decay from the same
   initial LR and the policy shipped with mava_ganno (``load_policy("default")``, trained
   elsewhere: see ``mava_ganno/policies/default/MODEL_CARD.md``), all with the same runner and
   seeds (same initialisation and minibatch order for every method).
3. Writes ``results/<run>/``: ``summary.md``, ``policy/`` (mava_ganno.policy format),
   ``zero_shot.json``, ``training_history.json`` and PNG figures: per-layer LR schedules and
   training loss of the untrained vs trained policy (paper, figure 2), per-layer LRs with test
   accuracy on the deeper network (figure 3), accuracy curves against the baselines and the
   shipped policy, and the RL training curve.

Extra arguments are Hydra overrides of the training config (``mava_ganno.train``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import sys
import time
from datetime import datetime
from typing import Any, Dict, List, Optional, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from mava_ganno.evaluation.rollouts import METHODS, make_method_runner, method_lr  # noqa: F401  (main_job's API)
from mava_ganno.policy.policy import policy_mode

DEFAULT_TIMESTEPS = 25_600
DEFAULT_LRS = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2)  # the paper's Table 1 grid
EVAL_WEIGHT_DECAY = 0.1  # the paper's evaluation weight decay
MAIN_METHODS = ("ganno", "constant", "cosine")  # what the main job compares (of rollouts.METHODS)
SHIPPED = "shipped_default"  # results key of the shipped policy's zero-shot runs (load_policy("default"))
ROW_LABELS = {"ganno": "ganno (trained here)", SHIPPED: "ganno (shipped default)"}  # table and legend names


# ----------------------------------------------------------------------------- zero-shot runs
def zero_shot(policy: Any, env: Any, lrs: Sequence[float], seeds: Sequence[int], weight_decay: float,
              greedy: bool = False, methods: Sequence[str] = MAIN_METHODS) -> Dict[str, Dict[str, np.ndarray]]:
    """{method: {metric: (seeds, lrs, T+1, ...)}} for ``methods`` (of ``rollouts.METHODS``)."""
    policy.check_env(env)
    runner = make_method_runner(env, greedy)
    R = len(lrs)
    grid_lrs = jnp.asarray(np.tile(np.asarray(lrs, np.float32), len(methods)))
    grid_methods = jnp.asarray(np.repeat([METHODS.index(m) for m in methods], R), jnp.int32)
    per_seed = [jax.device_get(runner(policy, jax.random.PRNGKey(s), grid_lrs, grid_methods, weight_decay)) for s in seeds]
    out: Dict[str, Dict[str, np.ndarray]] = {}
    for i, method in enumerate(methods):
        out[method] = {k: np.stack([np.asarray(p[k])[i * R:(i + 1) * R] for p in per_seed]) for k in per_seed[0]}
    return out


def shipped_env(ecfg: Any, shipped: Any) -> Any:
    """The evaluation env of ``ecfg`` observed as the shipped policy was trained (its features,
    action table, LR cap, LR decay); same task, so the same key gives the same initialisation and minibatches."""
    from mava_ganno.policy import policy_is_single_agent, policy_lr_decay
    from mava_ganno.utils import make_env

    return make_env.make_single(
        ecfg, difference_reward=False, track_test=True, features=tuple(shipped.feature_names),
        action_table=tuple(shipped.action_table), lr_max=float(shipped.lr_max), single_agent=policy_is_single_agent(shipped),
        lr_decay=policy_lr_decay(shipped),
    )  # fmt: skip


def zero_shot_shipped(shipped: Any, ecfg: Any, lrs: Sequence[float], seeds: Sequence[int],
                      weight_decay: float) -> Dict[str, np.ndarray]:
    """The shipped policy's zero-shot runs, in its validated mode (``policy_mode``): {metric: (seeds, lrs, ...)}."""
    greedy = policy_mode(shipped) == "greedy"
    return zero_shot(shipped, shipped_env(ecfg, shipped), lrs, seeds, weight_decay, greedy, methods=("ganno",))["ganno"]


# ----------------------------------------------------------------------------- figures
def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def figure_schedules_before_after(path: str, before: Dict[str, np.ndarray], after: Dict[str, np.ndarray], tau: int, lr0: float) -> str:
    """Paper figure 2: per-layer LR schedule and training loss, untrained vs trained policy."""
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    steps = np.arange(before["train_loss"].shape[-1]) * tau
    L = before["lrs"].shape[-1]
    for rec, colour, label in ((before, "tab:orange", "untrained policy (episode 0)"), (after, "tab:blue", "trained policy")):
        lrs = np.concatenate([np.full((1, L), lr0), rec["lrs"]])  # LR in force before each step
        for layer in range(L):
            axes[0].step(steps, lrs[:, layer], where="post", color=colour, alpha=0.35 + 0.65 * (layer + 1) / L,
                         label=f"{label}, layer {layer + 1}")
        axes[1].plot(steps, rec["train_loss"], color=colour, label=label)
    axes[0].set_yscale("symlog", linthresh=1e-5)  # log scale that still shows LR = 0
    axes[0].set(xlabel="SGD steps", ylabel="learning rate", title="GANNO's layerwise learning rates")
    axes[1].set(yscale="log", xlabel="SGD steps", ylabel="training loss", title="training loss")
    axes[0].legend(fontsize=6)
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def figure_layer_lrs_and_accuracy(path: str, rec: Dict[str, np.ndarray], tau: int, lr0: float, title: str) -> str:
    """Paper figure 3: each layer's LR and the test accuracy of one zero-shot run."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    steps = np.arange(rec["train_loss"].shape[-1]) * tau
    L = rec["lrs"].shape[-1]
    lrs = np.concatenate([np.full((1, L), lr0), rec["lrs"]])
    cmap = plt.get_cmap("viridis")
    for layer in range(L):
        ax.step(steps, lrs[:, layer], where="post", color=cmap(layer / max(L - 1, 1)), label=f"layer {layer + 1}")
    ax.set_yscale("symlog", linthresh=1e-5)  # log scale that still shows LR = 0
    ax.set(xlabel="SGD steps", ylabel="learning rate", title=title)
    ax2 = ax.twinx()
    acc = rec.get("test_accuracy", rec["val_accuracy"])
    ax2.plot(steps, 100 * acc, color="black", lw=2, label="test accuracy")
    ax2.set_ylabel("test accuracy (%)")
    ax.legend(loc="upper left", fontsize=7, ncol=2)
    ax2.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def figure_accuracy_curves(path: str, results: Dict[str, Dict[str, np.ndarray]], lrs: Sequence[float], tau: int) -> str:
    plt = _plt()
    fig, axes = plt.subplots(1, len(lrs), figsize=(3.2 * len(lrs), 3.4), sharey=True, squeeze=False)
    colours = {"ganno": "tab:blue", "constant": "tab:gray", "cosine": "tab:green", SHIPPED: "tab:purple"}
    for j, lr in enumerate(lrs):
        ax = axes[0, j]
        for method, rec in results.items():
            acc = 100 * rec.get("test_accuracy", rec["val_accuracy"])[:, j]  # (seeds, T+1)
            steps = np.arange(acc.shape[-1]) * tau
            ax.plot(steps, acc.mean(0), color=colours[method], label=ROW_LABELS.get(method, method))
            if acc.shape[0] > 1:
                ax.fill_between(steps, acc.min(0), acc.max(0), color=colours[method], alpha=0.15)
        ax.set(title=f"initial LR {lr:g}", xlabel="SGD steps")
        if j == 0:
            ax.set_ylabel("test accuracy (%)")
            ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def figure_training_curve(path: str, history: List[Dict[str, Any]]) -> str:
    plt = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.5))
    t = np.array([h["timestep"] for h in history])
    ret = np.array([h.get("episode_return", np.nan) for h in history])
    axes[0].plot(t, ret, ".", ms=3, alpha=0.5)
    if len(ret) >= 10:
        k = max(len(ret) // 20, 3)
        smooth = np.convolve(np.nan_to_num(ret), np.ones(k) / k, mode="valid")
        axes[0].plot(t[k - 1:], smooth, color="tab:blue")
    axes[0].set(xlabel="timesteps", ylabel="episode return (difference reward)", title="RL training")
    axes[1].plot(t, [h.get("final_val_accuracy", np.nan) for h in history], ".", ms=3)
    axes[1].set(xlabel="timesteps", ylabel="final hold-out accuracy", title="training episodes")
    axes[2].plot(t, [h["entropy"] for h in history])
    axes[2].set(xlabel="timesteps", ylabel="policy entropy", title="policy entropy")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


# ----------------------------------------------------------------------------- summary
def _final(rec: Dict[str, np.ndarray]) -> np.ndarray:
    """(seeds, lrs) final test accuracy (validation if the env has no test tracking)."""
    return rec.get("test_accuracy", rec["val_accuracy"])[..., -1]


def summary_table(results: Dict[str, Dict[str, np.ndarray]], lrs: Sequence[float]) -> str:
    head = "| method | " + " | ".join(f"{lr:g}" for lr in lrs) + " | average |"
    lines = [head, "|" + "---|" * (len(lrs) + 2)]
    finals = {m: _final(r) for m, r in results.items()}
    best = np.max([f.mean(0) for f in finals.values()], axis=0)
    for method, f in finals.items():
        cells = []
        for j in range(len(lrs)):
            m, s = 100 * f[:, j].mean(), 100 * f[:, j].std()
            cell = f"{m:.2f} ± {s:.2f}" if f.shape[0] > 1 else f"{m:.2f}"
            if np.isclose(f[:, j].mean(), best[j]):
                cell = f"**{cell}**"
            if results[method]["diverged"][:, j].any():
                cell += " †"
            cells.append(cell)
        lines.append(f"| {ROW_LABELS.get(method, method)} | " + " | ".join(cells) + f" | {100 * f.mean():.2f} |")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- the job
def check_args(timesteps: int, lrs: Sequence[float], seeds: Sequence[int]) -> None:
    """Fail before training on arguments the evaluation would only reject at the end."""
    if int(timesteps) <= 0:
        raise ValueError(f"--timesteps {timesteps} must be positive, e.g. --timesteps {DEFAULT_TIMESTEPS}.")
    bad = [lr for lr in lrs if not (math.isfinite(lr) and lr > 0)]
    if not lrs or bad:
        raise ValueError(f"--lrs {list(lrs)}: initial LRs must be finite and > 0, e.g. --lrs 1e-4,1e-3,1e-2.")
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"--seeds {list(seeds)}: give distinct seeds, e.g. --seeds 0,1,2.")


def train_config(timesteps: int, run: str, run_dir: str, overrides: Sequence[str]) -> Any:
    """The training config: the default tree, the main job's budget and paths, then overrides."""
    from mava_ganno.train import compose_checked

    return compose_checked([
        f"system.total_timesteps={int(timesteps)}",
        f"logger.base_exp_path={os.path.join(run_dir, 'train')}",
        f"logger.checkpointing.save_args.checkpoint_uid={run}",
        "arch.num_eval_episodes=0",  # the zero-shot runs are the evaluation
        *overrides,
    ])


def train_stage(cfg: Any, run_dir: str, verbose: bool) -> Any:
    """1. Train with recurrent IPPO; the policy and the history go to ``run_dir``."""
    from mava_ganno.policy import save_policy
    from mava_ganno.systems import rec_ippo

    timesteps = int(cfg.system.total_timesteps)
    if verbose:
        print(f"[1/3] training GANNO on {cfg.env.scenario.task_name} for {timesteps:,} timesteps -> {run_dir}")
    res = rec_ippo.run_experiment(cfg, verbose=verbose)
    save_policy(os.path.join(run_dir, "policy"), res.policy)
    with open(os.path.join(run_dir, "training_history.json"), "w") as f:
        json.dump(res.history, f)
    return res


def write_zero_shot(path: str, scenario: str, lrs: Sequence[float], seeds: Sequence[int], tau: int,
                    results: Dict[str, Dict[str, np.ndarray]]) -> None:
    with open(path, "w") as f:
        json.dump({"scenario": scenario, "lrs": list(lrs), "seeds": list(seeds), "tau": tau,
                   "results": {m: {k: np.asarray(v).tolist() for k, v in r.items()} for m, r in results.items()}}, f)


FIG_LR = 1e-3  # the initial LR of figures 2 and 3


def write_main_figures(run_dir: str, cfg: Any, res: Any, eval_env: Any, results: Dict[str, Dict[str, np.ndarray]],
                       lrs: Sequence[float], seeds: Sequence[int], eval_scenario: str) -> None:
    """3. Figures 2 and 3 of the paper, accuracy curves and the training curve."""
    from mava_ganno.utils import make_env

    train_env = make_env.make_single(cfg, difference_reward=False, track_test=True)
    untrained = res.policy.replace(params=res.initial_actor_params)
    fig_runner = make_method_runner(train_env)  # compiled once, for both policies
    before, after = (
        jax.device_get(fig_runner(p, jax.random.PRNGKey(0), jnp.asarray([FIG_LR]), jnp.asarray([0]), EVAL_WEIGHT_DECAY))
        for p in (untrained, res.policy)
    )
    pick0 = lambda r: {k: np.asarray(v)[0] for k, v in r.items()}  # noqa: E731
    path = lambda name: os.path.join(run_dir, name)  # noqa: E731
    figure_schedules_before_after(path("fig2_lr_schedules_train_env.png"), pick0(before), pick0(after), train_env.tau, FIG_LR)
    j = int(np.argmin(np.abs(np.asarray(lrs) - FIG_LR)))
    figure_layer_lrs_and_accuracy(
        path("fig3_layer_lrs_zero_shot.png"), {k: v[0, j] for k, v in results["ganno"].items()},
        eval_env.tau, lrs[j], f"GANNO zero-shot on {eval_scenario} (initial LR {lrs[j]:g}, seed {seeds[0]})")
    figure_accuracy_curves(path("accuracy_curves.png"), results, lrs, eval_env.tau)
    figure_training_curve(path("training_curve.png"), res.history)


def _shipped_note(shipped: Any) -> str:
    """What the ``ganno (shipped default)`` row is, from the shipped policy's metadata."""
    meta = shipped.metadata if shipped is not None else {}
    if meta.get("source") == "behaviour_cloning":  # a clone: how much it imitated, no RL budget
        how = f"cloned from {meta.get('sequences', '?')} demonstration sequences, no RL"
    else:  # RL, from scratch or from a clone (``init_policy``)
        how = f"{meta.get('total_timesteps', '?')} timesteps" + (" of RL from a behaviour-cloned start" if meta.get("init_policy") else "")
    return (
        "\n`ganno (trained here)` is the policy this job trained; `ganno (shipped default)` is the policy\n"
        "shipped with mava_ganno (`load_policy(\"default\")`), not trained by this job (run "
        f"{meta.get('run', '?')!r} on {meta.get('scenario', '?')},\n{how}, "
        f"features {_feature_set_name(shipped)}; see `mava_ganno/policies/default/MODEL_CARD.md`),\n"
        f"run zero-shot with the same runner, seeds and initial LRs, {policy_mode(shipped)} (the mode its validation suite chose).\n"
    )


def _feature_set_name(policy: Any) -> str:
    from mava_ganno.env.observations import FEATURE_SETS

    names = tuple(policy.feature_names) if policy is not None else ()
    return next((k for k, v in FEATURE_SETS.items() if tuple(v) == names), f"{len(names)} custom")


def summary_text(run: str, run_dir: str, cfg: Any, res: Any, eval_env: Any, eval_scenario: str,
                 results: Dict[str, Dict[str, np.ndarray]], lrs: Sequence[float], seeds: Sequence[int],
                 overrides: Sequence[str], seconds: Dict[str, float], shipped: Any = None) -> str:
    """``summary.md``: the zero-shot table, training statistics, figures, files, timings."""
    policy = res.policy
    last = res.history[-max(1, len(res.history) // 10):]
    first = res.history[: max(1, len(res.history) // 10)]
    mean = lambda rows, k: float(np.nanmean([r.get(k, np.nan) for r in rows]))  # noqa: E731
    return f"""# GANNO main job: {run}

Trained the shared recurrent GANNO policy with recurrent IPPO on **{cfg.env.scenario.task_name}**
({policy.metadata['num_layers_trained_on']} layer agents, tau {cfg.env.scenario.env_kwargs.tau},
difference reward, {cfg.arch.num_envs} environments) for **{res.total_timesteps:,} timesteps**
({res.num_updates} updates), then ran it **zero-shot** on **{eval_scenario}**
({eval_env.num_agents} layer agents, {eval_env.sl_steps} SGD steps, weight decay {EVAL_WEIGHT_DECAY})
from {len(lrs)} initial learning rates, next to a constant LR, a cosine decay from the same
initial LR and the policy shipped with mava_ganno (same initialisation and minibatches for every
method; seeds {list(seeds)}; the policy trained here samples its actions, the shipped one acts
{policy_mode(shipped)}).

## Zero-shot: final test accuracy (%) on {eval_scenario}

{summary_table(results, lrs)}

Bold: best per column; †: some seed diverged. Mean over seeds (± std).
{_shipped_note(shipped) if SHIPPED in results else ""}
## Training

| | first 10% of updates | last 10% of updates |
|---|---|---|
| episode return (difference reward) | {mean(first, 'episode_return'):.4f} | {mean(last, 'episode_return'):.4f} |
| final hold-out accuracy of training episodes | {mean(first, 'final_val_accuracy'):.3f} | {mean(last, 'final_val_accuracy'):.3f} |
| policy entropy (max {math.log(policy.action_dim):.3f}) | {mean(first, 'entropy'):.3f} | {mean(last, 'entropy'):.3f} |

Final action probabilities ({', '.join(policy.action_table)}):
{', '.join(f'{p:.2f}' for p in res.history[-1]['action_probs'])}

## Figures

- `fig2_lr_schedules_train_env.png`: per-layer LR and training loss on {cfg.env.scenario.task_name}
  (initial LR {FIG_LR:g}), untrained vs trained policy (the paper's figure 2).
- `fig3_layer_lrs_zero_shot.png`: every layer's LR and the test accuracy, zero-shot on
  {eval_scenario} (the paper's figure 3).
- `accuracy_curves.png`: test accuracy vs SGD steps, GANNO (trained here and shipped default) vs
  constant vs cosine, per initial LR.
- `training_curve.png`: episode return, final hold-out accuracy and policy entropy during training.

## Files

- `policy/`: the trained policy (`mava_ganno.policy.load_policy`; no dataset needed).
- `train/checkpoints/rec_ippo/{run}/`: the last learner-state checkpoint; a killed run resumes with
  `ganno train system.total_timesteps={cfg.system.total_timesteps} arch.num_eval_episodes=0
  logger.base_exp_path={os.path.join(run_dir, 'train')} {' '.join(overrides)} --resume`.
- `zero_shot.json`, `training_history.json`: the raw numbers.

## Timings (this machine)

training {seconds['train']:.0f} s (incl. compilation), zero-shot evaluation {seconds['eval']:.0f} s, total {seconds['total']:.0f} s.
"""


def run_main(
    timesteps: int = DEFAULT_TIMESTEPS,
    run: Optional[str] = None,
    out: str = "results",
    eval_scenario: str = "mlp5-mnist_5k",
    lrs: Sequence[float] = DEFAULT_LRS,
    seeds: Sequence[int] = (0, 1),
    overrides: Sequence[str] = (),
    verbose: bool = True,
) -> str:
    """Train, evaluate zero-shot, write figures and ``summary.md``; returns the run directory."""
    from mava_ganno.policy import load_shipped_policy
    from mava_ganno.policy.io import ensure_writable_dir
    from mava_ganno.train import compose_checked
    from mava_ganno.utils import make_env

    check_args(timesteps, lrs, seeds)
    t0 = time.time()
    run = run or datetime.now().strftime("main-%Y%m%d-%H%M%S")
    run_dir = os.path.abspath(os.path.join(out, run))
    # Both configs first: an unknown scenario or a bad override fails before anything is written.
    ecfg = compose_checked([f"env/scenario={eval_scenario}"])
    cfg = train_config(timesteps, run, run_dir, overrides)
    shipped = load_shipped_policy("default")  # a broken installation fails before training too
    ensure_writable_dir(run_dir, f"choose another --out (now {out!r})")  # before training, not after
    say = print if verbose else (lambda *a, **k: None)

    res = train_stage(cfg, run_dir, verbose)
    t1 = time.time()
    say(f"[2/3] zero-shot on {eval_scenario}: initial LRs {list(lrs)}, seeds {list(seeds)}, "
        "vs constant, cosine and the shipped default policy")
    eval_env = make_env.make_single(ecfg, difference_reward=False, track_test=True)
    results = zero_shot(res.policy, eval_env, lrs, seeds, EVAL_WEIGHT_DECAY)
    results[SHIPPED] = zero_shot_shipped(shipped, ecfg, lrs, seeds, EVAL_WEIGHT_DECAY)
    write_zero_shot(os.path.join(run_dir, "zero_shot.json"), eval_scenario, lrs, seeds, eval_env.tau, results)
    t2 = time.time()
    say("[3/3] figures and summary")
    write_main_figures(run_dir, cfg, res, eval_env, results, lrs, seeds, eval_scenario)
    seconds = {"train": t1 - t0, "eval": t2 - t1, "total": time.time() - t0}
    text = summary_text(run, run_dir, cfg, res, eval_env, eval_scenario, results, lrs, seeds, overrides, seconds, shipped)
    with open(os.path.join(run_dir, "summary.md"), "w") as f:
        f.write(text)
    say(text)
    say(f"results in {run_dir}")
    return run_dir


def _floats(text: str) -> List[float]:
    return [float(v) for v in text.split(",") if v.strip()]


def _ints(text: str) -> List[int]:
    return [int(v) for v in text.split(",") if v.strip()]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ganno main", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--timesteps", type=int, default=DEFAULT_TIMESTEPS, help="training budget (default %(default)s)")
    p.add_argument("--run", default=None, help="run name (default main-<date>-<time>)")
    p.add_argument("--out", default="results", help="results directory (default %(default)s)")
    p.add_argument("--eval-scenario", default="mlp5-mnist_5k")
    p.add_argument("--lrs", type=_floats, default=list(DEFAULT_LRS), help="initial LRs of the zero-shot runs, comma-separated")
    p.add_argument("--seeds", type=_ints, default=[0, 1], help="seeds of the zero-shot runs, comma-separated")
    return p


def main(argv: Optional[Sequence[str]] = None) -> str:
    argv = list(sys.argv[1:] if argv is None else argv)
    args, overrides = build_parser().parse_known_args(argv)
    bad = [o for o in overrides if o.startswith("-")]
    if bad:
        build_parser().error(f"unrecognized arguments: {' '.join(bad)}")
    from mava_ganno.policy.io import ensure_writable_dir
    from mava_ganno.systems.resume import interrupted_training
    from mava_ganno.utils.config import ConfigError
    from mava_ganno.utils.files import FolderLock, FolderLockedError, Terminated, exit_interrupted, terminate_as_exception

    try:
        check_args(args.timesteps, args.lrs, args.seeds)
    except ValueError as e:
        build_parser().error(str(e))
    run = args.run or datetime.now().strftime("main-%Y%m%d-%H%M%S")
    try:  # user errors in configs are found before training starts (run_main composes first)
        ensure_writable_dir(args.out, f"choose another --out (now {args.out!r})")  # where the run's lock goes
        with terminate_as_exception(), FolderLock(os.path.join(args.out, run), warn=lambda m: print(m, file=sys.stderr), beside=True):
            return run_main(args.timesteps, run, args.out, args.eval_scenario, args.lrs, args.seeds, overrides)
    except ConfigError as e:  # compose_checked: Hydra's failures too, on one line
        print(f"Config error: {e}", file=sys.stderr)
        sys.exit(2)
    except FolderLockedError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except OSError as e:  # an unwritable --out, found before training
        print(f"error: {e.strerror or e}", file=sys.stderr)
        sys.exit(2)
    except (KeyboardInterrupt, Terminated) as e:
        again = shlex.join(["ganno", "main", *([] if args.run else ["--run", run]), *argv])
        if getattr(e, "training", None) is not None:
            resume = f"`{again} logger.checkpointing.load_model=True`"
            exit_interrupted(e, f"the main job stopped while training; {interrupted_training(e, resume)}")
        exit_interrupted(e, f"the main job stopped; {os.path.join(args.out, run)}/ holds the stages it finished (summary.md is "
                            f"written last); `{again}` runs it again.")  # fmt: skip


if __name__ == "__main__":
    main()
