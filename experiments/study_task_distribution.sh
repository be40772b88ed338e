#!/usr/bin/env bash
# Task-distribution study, step 1: train every variant for every RL seed (one run at a time: 2 cores).
#   paper        the paper's recipe: mlp2-digits, paper features, 12,800 timesteps, 4 envs
#   paper-val    the same with a 3x larger validation split (431 images; the reward's steps 0.23
#                points instead of 0.69): the larger split alone
#   pool-paper   the task distribution (pool-8x8: 8 groups x 2 envs), paper features
#   pool-robust  the task distribution with the robust feature set
#   pool-robust-episode  the same with the episode-level counterfactual reward (constant-LR
#                reference episode; the return is the final hold-out accuracy gap)
#   deep-robust, deep-robust-episode  pool-robust(-episode) on the second pool, pool-deep (deep
#                and wide groups, whole-budget tasks, less label noise; its validation suite
#                also chooses the action mode, sampled or greedy)
#   deep-full-episode, deep-robust-episode-loss  deep-robust-episode with the paper's (full)
#                features, or with the validation-loss reward term (weight 0.1): each option alone
#   deep-lr_only-episode, deep-timestep_only-episode, deep-single_agent-episode  the paper's
#                ablations (Table 2) of deep-robust-episode: its features replaced by the LR only,
#                the training progress only, or one agent for all layers with global features
# Pool variants select their policy on the pool's validation suite (policy_best); the paper
# recipe has no suite and keeps its last policy. Outputs: $OUT/<variant>_s<seed>/ (train.log,
# checkpoints/rec_ippo/<variant>_s<seed>/{policy,policy_best,validation_history.json}; the history file
# since Nov 29 2026, earlier runs have it in their log only).
# JAX's persistent compilation cache lets seeds 2 and 3 of a variant skip its compilation.
# Recipes and the training run: experiments/common.sh (shared with study_demonstrations.sh).
# Usage: bash experiments/study_task_distribution.sh [OUT] [SEEDS] [VARIANTS]
set -u
OUT=${1:-results/study10}
SEEDS=${2:-"0 1 2"}
VARIANTS=${3:-"paper pool-robust pool-robust-episode pool-paper"}
PY=${PYTHON:-python}
export JAX_COMPILATION_CACHE_DIR=${JAX_COMPILATION_CACHE_DIR:-$OUT/jax_cache}
export JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=1
mkdir -p "$OUT"
. "$(dirname "$0")/common.sh"
for variant in $VARIANTS; do
  args=$(variant_args "$variant") || exit 2
  for seed in $SEEDS; do
    # shellcheck disable=SC2086  # args is a list of overrides
    train_run "${variant}_s${seed}" $args system.seed="$seed"
  done
done
