#!/usr/bin/env bash
# Demonstrations study on the task-distribution study's recommended configuration (pool-deep,
# robust features, episode-level reward; docs/lab/results-notebook.md, "Second pool"):
# demonstrations, cloning only, and cloning + RL, for every seed in SEEDS.
#   demos   `ganno demos` on pool-deep: every task group under the handcrafted schedules
#           (warm-up + cosine, one-cycle, cosine, linear, step) at peaks 1e-4 ... 1e-2, episode
#           seed 0, in the training environment (its reward), -> $OUT/demos.npz
#   clone   `ganno clone` of the shared recurrent actor on them, the best 30% of each group's
#           episodes kept, seed s -> $OUT/clone_s<s>
#   rl      recurrent IPPO from clone_s<s> (system.init_policy), a KL penalty to it decaying over
#           the first KL_UPDATES updates (default 10), the critic pre-fitted to the demonstrations'
#           returns, the rest as the RL-only runs of results/study11 (same budget, suite and seed) ->
#           $OUT/clone-rl_s<s>/checkpoints/rec_ippo/clone-rl_s<s>/policy_best
# Evaluation: experiments/evaluate_study.sh finds clone-rl runs like any study run; the cloned
# policies are evaluated with `ganno evaluate --policy clone_s<s>=$OUT/clone_s<s> ...` (commands
# in docs/lab/results-notebook.md).
# TABLE=rich (environment variable; default paper) runs all of it with the richer action table
# (env.kwargs.action_table=rich: the paper's nine actions plus *2, /2, +0.005, -0.005).
# VARIANT=<a study variant of common.sh> (default deep-robust-episode) takes that variant's
# environment, reward, suite and budget instead (e.g. strong-cosine: demonstrations and RL scored
# against a cosine reference episode, selection against the best schedule); SCHEDULES=a,b,...
# replaces the demonstrated schedules (default: `ganno demos`' own list); INITIAL_LRS=a,b,...
# also runs every demonstration from each of these initial LRs (`ganno demos --initial-lrs`);
# KL_UPDATES=n (default 10) is the number of RL updates over which the KL penalty to the clone
# decays to 0 (null: the whole run); DEMO_SEEDS=a,b,... (default 0) are the demonstrations'
# episode seeds (`ganno demos --seeds`): each schedule is run once per seed, and `clone --keep-top`
# ranks every run among its group's runs; KEEP_TOP_BY=start ranks them among the runs of the
# same group and initial LR instead (`ganno clone --keep-top-by start`); PEAKS_ABOVE_START=1 runs
# each schedule from each of INITIAL_LRS only at the peaks at or above it (`ganno demos
# --peaks-above-start`); MAX_PEAK_RATIO=r with it keeps only the peaks up to r times each initial LR
# (`ganno demos --max-peak-ratio`); PEAKS=a,b,... replaces the demonstrated peak LRs (`ganno demos
# --peaks`; default 1e-4 ... 1e-2 in half-decades).
# Usage: [TABLE=rich] [VARIANT=v] [SCHEDULES=s] [PEAKS=p] [INITIAL_LRS=l] [PEAKS_ABOVE_START=1] [MAX_PEAK_RATIO=r] [KL_UPDATES=n] [DEMO_SEEDS=s] [KEEP_TOP_BY=b] bash experiments/study_demonstrations.sh [OUT] [SEEDS] [STEPS]
set -u
OUT=${1:-results/study12}
SEEDS=${2:-"0 1 2"}
STEPS=${3:-"demos clone rl"}
PY=${PYTHON:-python}
export JAX_COMPILATION_CACHE_DIR=${JAX_COMPILATION_CACHE_DIR:-$OUT/jax_cache}
export JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=1
TABLE=${TABLE:-paper}
VARIANT=${VARIANT:-deep-robust-episode}
KL_UPDATES=${KL_UPDATES:-10}
DEMO_SEEDS=${DEMO_SEEDS:-0}
SCHEDULE_ARGS="${SCHEDULES:+--schedules $SCHEDULES} ${PEAKS:+--peaks $PEAKS} ${INITIAL_LRS:+--initial-lrs $INITIAL_LRS} ${PEAKS_ABOVE_START:+--peaks-above-start} ${MAX_PEAK_RATIO:+--max-peak-ratio $MAX_PEAK_RATIO}"
. "$(dirname "$0")/common.sh"
RECIPE="$(variant_env "$VARIANT") env.kwargs.action_table=$TABLE" || exit 2
mkdir -p "$OUT"
for step in $STEPS; do
  case $step in
    demos)
      if [ -f "$OUT/demos.npz" ]; then echo "skip demos (done)"; continue; fi
      start=$(date +%s)
      # shellcheck disable=SC2086  # lists of overrides and arguments
      $PY -u -m mava_ganno.cli demos $RECIPE $SCHEDULE_ARGS --seeds "$DEMO_SEEDS" --out "$OUT/demos.npz" > "$OUT/demos.log" 2>&1
      echo "$(date +%T) demos rc=$? $(( $(date +%s) - start )) s" ;;
    clone)
      for seed in $SEEDS; do
        [ -f "$OUT/clone_s$seed/policy.json" ] && { echo "skip clone_s$seed (done)"; continue; }
        start=$(date +%s)
        $PY -u -m mava_ganno.cli clone --demos "$OUT/demos.npz" --out "$OUT/clone_s$seed" --keep-top 0.3 \
          ${KEEP_TOP_BY:+--keep-top-by "$KEEP_TOP_BY"} --seed "$seed" > "$OUT/clone_s$seed.log" 2>&1
        echo "$(date +%T) clone_s$seed rc=$? $(( $(date +%s) - start )) s"
      done ;;
    rl)
      for seed in $SEEDS; do
        # shellcheck disable=SC2086  # lists of overrides
        train_run "clone-rl_s$seed" $(variant_args "$VARIANT") env.kwargs.action_table="$TABLE" \
          system.init_policy="$OUT/clone_s$seed" system.init_policy_kl_coef=1.0 system.init_policy_kl_updates="$KL_UPDATES" \
          system.critic_prefit_demos="$OUT/demos.npz" system.seed="$seed"
      done ;;
    *) echo "unknown step $step (demos, clone, rl)"; exit 2 ;;
  esac
done
