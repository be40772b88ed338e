"""LR traces and hold-out accuracy of policies on one validation-suite task from one initial LR,
next to the handcrafted schedules the suite compares with (the figure behind a cell of
``rescore_validation.py --cells``).

Usage (overrides as for ``ganno train``; they must compose the suite the policies were scored on):
    python experiments/validation_traces.py mlp7-wide-teacher12-big 1e-2 traces.png default \
        results/study28/strong-cosine_s2/.../policy_best \
        -- env/scenario=pool-deep env.kwargs.features=robust +env.scenario.validation.reference=best_schedule
Left panel: every layer's LR at each decision (log scale), the policies greedy and sampled
(seed 0), the schedules dashed; right panel: the hold-out accuracy after each decision, the
final value in the legend. Prints each policy's final accuracy and its per-layer LRs at the last
decision. A policy whose observation features are not the config's runs in the same task built
with its own features (the schedules and the initialisation do not depend on them), so policies
trained on other feature sets can be drawn side by side.
"""

from __future__ import annotations

import copy
import sys

import jax
import jax.numpy as jnp
import numpy as np
from omegaconf import OmegaConf

from mava_ganno.evaluation.policies import load_policy_any
from mava_ganno.evaluation.rollouts import METHODS, make_method_runner
from mava_ganno.systems.validation import ValidationSuite
from mava_ganno.train import compose_config
from mava_ganno.utils.config import check_config

SCHEDULES = ("constant", "cosine", "linear", "warmup_cosine", "wsd")


def main(argv) -> int:
    if "--" not in argv or argv.index("--") < 4:
        print(__doc__, file=sys.stderr)
        return 2
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cut = argv.index("--")
    task, lr, out, paths = argv[0], float(argv[1]), argv[2], argv[3:cut]
    config = check_config(compose_config(argv[cut + 1:]), 1)
    if config.env.scenario.get("validation") is None:
        print("the composed config has no validation suite (env.scenario.validation)", file=sys.stderr)
        return 2
    OmegaConf.set_struct(config, False)
    config.env.scenario.validation.every = 1
    suite = ValidationSuite.from_config(config)
    if task not in suite.envs:
        print(f"task {task!r} is not in the suite; its tasks: {sorted(suite.envs)}", file=sys.stderr)
        return 2
    run = make_method_runner(suite.envs[task])
    policies = {p: load_policy_any(p) for p in paths}
    runners = {}
    for path, policy in policies.items():
        features = list(getattr(policy, "feature_names", suite.envs[task].features))
        if features == list(suite.envs[task].features):
            runners[path] = run
            continue
        own = copy.deepcopy(config)  # the config stays as given for the next policy
        own.env.kwargs.features = features
        runners[path] = make_method_runner(ValidationSuite.from_config(own).envs[task])
        print(f"{path}: run with its own features {features}")
    key, lrs = jax.random.PRNGKey(0), jnp.array([lr])
    fig, (ax_lr, ax_acc) = plt.subplots(1, 2, figsize=(12, 4.5))
    first = next(iter(policies))  # the schedules ignore the policy, but run in its task
    for i, m in enumerate(SCHEDULES):
        r = runners[first](policies[first], key, lrs, jnp.array([METHODS.index(m)]), suite.weight_decay, greedy=True)
        color = f"C{i}"
        ax_lr.plot(np.asarray(r["lrs"][0])[:, 0], "--", color=color, label=m)
        ax_acc.plot(np.asarray(r["val_accuracy"][0]), "--", color=color, label=f"{m} {100 * float(r['val_accuracy'][0, -1]):.1f}")
    for j, (path, policy) in enumerate(policies.items()):
        parts = path.rstrip("/").split("/")
        name = parts[-2] if len(parts) > 1 and parts[-1] in ("policy", "policy_best") else parts[-1]
        for greedy, style in ((True, "-"), (False, ":")):
            mode = "greedy" if greedy else "sampled"
            r = runners[path](policy, key, lrs, jnp.array([METHODS.index("ganno")]), suite.weight_decay, greedy=greedy)
            layer_lrs, final = np.asarray(r["lrs"][0]), float(r["val_accuracy"][0, -1])
            color = f"C{len(SCHEDULES) + j}"
            for k in range(layer_lrs.shape[1]):
                ax_lr.plot(layer_lrs[:, k], style, color=color, lw=0.8, label=f"{name} ({mode})" if k == 0 else None)
            ax_acc.plot(np.asarray(r["val_accuracy"][0]), style, color=color, label=f"{name} ({mode}) {100 * final:.1f}")
            print(f"{path} ({mode}): final hold-out {100 * final:.2f}%, last LRs {np.round(layer_lrs[-1], 5).tolist()}")
    ax_lr.set(yscale="log", xlabel="decision", ylabel="LR", title=f"{task}, initial LR {lr:g}")
    ax_acc.set(xlabel="decision", ylabel="hold-out accuracy", title=f"weight decay {suite.weight_decay:g}, seed 0")
    ax_lr.legend(fontsize=7)
    ax_acc.legend(fontsize=7)
    fig.savefig(out, dpi=100, bbox_inches="tight")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
