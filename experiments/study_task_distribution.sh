#!/usr/bin/env bash
# Issue 10 study, step 1: train every variant for every RL seed (one run at a time: 2 cores).
#   paper        the paper's recipe: mlp2-digits, paper features, 12,800 timesteps, 4 envs
#   pool-paper   the task distribution (pool-8x8: 8 groups x 2 envs), paper features
#   pool-robust  the task distribution with the robust feature set
#   pool-robust-episode  the same with the episode-level counterfactual reward (constant-LR
#                reference episode; the return is the final hold-out accuracy gap)
#   deep-robust, deep-robust-episode  pool-robust(-episode) on the second pool, pool-deep (deep
#                and wide groups, whole-budget tasks, less label noise; its validation suite
#                also chooses the action mode, sampled or greedy)
# Pool variants select their policy on the pool's validation suite (policy_best); the paper
# recipe has no suite and keeps its last policy. Outputs: $OUT/<variant>_s<seed>/ (train.log,
# checkpoints/rec_ippo/<variant>_s<seed>/{policy,policy_best,validation_history.json}; the history file
# since Nov 29 2026, earlier runs have it in their log only).
# JAX's persistent compilation cache lets seeds 2 and 3 of a variant skip its compilation.
# Usage: bash experiments/study_task_distribution.sh [OUT] [SEEDS] [VARIANTS]
set -u
OUT=${1:-results/study10}
SEEDS=${2:-"0 1 2"}
VARIANTS=${3:-"paper pool-robust pool-robust-episode pool-paper"}
PY=${PYTHON:-python}
export JAX_COMPILATION_CACHE_DIR=${JAX_COMPILATION_CACHE_DIR:-$OUT/jax_cache}
export JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=1
mkdir -p "$OUT"
for variant in $VARIANTS; do
  case $variant in
    paper) args="env/scenario=mlp2-digits system.total_timesteps=12800" ;;
    pool-paper) args="env/scenario=pool-8x8 arch.num_envs=2 system.total_timesteps=12800 env.scenario.validation.every=2" ;;
    pool-robust) args="env/scenario=pool-8x8 env.kwargs.features=robust arch.num_envs=2 system.total_timesteps=12800 env.scenario.validation.every=2" ;;
    pool-robust-episode) args="env/scenario=pool-8x8 env.kwargs.features=robust env.kwargs.reward_counterfactual=constant_episode arch.num_envs=2 system.total_timesteps=12800 env.scenario.validation.every=2" ;;
    deep-robust) args="env/scenario=pool-deep env.kwargs.features=robust arch.num_envs=2 system.total_timesteps=12800 env.scenario.validation.every=2" ;;
    deep-robust-episode) args="env/scenario=pool-deep env.kwargs.features=robust env.kwargs.reward_counterfactual=constant_episode arch.num_envs=2 system.total_timesteps=12800 env.scenario.validation.every=2" ;;
    *) echo "unknown variant $variant (paper, pool-paper, pool-robust, pool-robust-episode, deep-robust, deep-robust-episode)"; exit 2 ;;
  esac
  for seed in $SEEDS; do
    uid=${variant}_s${seed}
    if [ -f "$OUT/$uid/done" ]; then echo "skip $uid (done)"; continue; fi
    echo "$(date +%T) start $uid"
    start=$(date +%s)
    $PY -u -m mava_ganno.train $args system.seed=$seed arch.num_evaluation=10 arch.num_eval_episodes=0 \
      logger.progress_bar=False logger.base_exp_path="$OUT/$uid" \
      logger.checkpointing.save_args.checkpoint_uid=$uid > "$OUT/$uid.log" 2>&1
    rc=$?
    echo "$(date +%T) end $uid rc=$rc $(( $(date +%s) - start )) s"
    [ $rc -eq 0 ] && echo "$(( $(date +%s) - start ))" > "$OUT/$uid/done"
  done
done
