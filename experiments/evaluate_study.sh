#!/usr/bin/env bash
# Task-distribution study, step 2: zero-shot evaluation of every trained policy (all variants x RL seeds,
# from experiments/study_task_distribution.sh), then the tables over RL seeds.
#   A  mlp5-mnist_5k, the named grid: 3,000 SGD steps, LRs 1e-4..1e-2, weight decays 0.1 and
#      1e-4, 3 evaluation seeds, sampled and greedy
#   A0 the same grid with initial LR 0 added (the paper's Table 3: warm-up from 0)
#   B  deeper and wider than any training network, another weight decay: mlp7 with 256 hidden
#      units on mnist_5k, weight decay 1e-2, LRs 1e-4, 1e-3, 1e-2, 3 seeds, sampled
#   B2 the same, greedy, constant LR only (run after B; the paper recipe's policies left out by
#      hand for time in the documented run: pass only the pool variants' policies)
#   Bm the same grid as B in both modes (sampled, greedy), with the schedules: for policies
#      whose validation suite chose the mode (study_table.py --runs OUT gives the suite-mode row)
#   C  cnn5-mnist_5k (width 8), LRs 3e-4, 1e-3, 3e-3, weight decay 0.1, 3 seeds, sampled and
#      greedy, with a shorter budget (CNN_STEPS, default 1,000 SGD steps; ~10x slower per step)
#   D1 wider, shallower, another weight decay: mlp3 with 512 hidden units on mnist_5k, weight
#      decay 1e-3, LRs 1e-4, 1e-3, 1e-2, 3 seeds, sampled and greedy, with the schedules
#   D2 deeper than any training or suite network: mlp9 with 128 hidden units on mnist_5k,
#      weight decay 0.1, the same LRs, seeds, modes and schedules
#   D3 deeper still, narrower, another weight decay: mlp12 with 64 hidden units (13 layer agents)
#      on mnist_5k, weight decay 3e-2, LRs 1e-4, 1e-3, 1e-2, 3 seeds, sampled and greedy, with
#      the schedules (fixed Nov 29 2026, after D2 had been seen for cloning + RL and before D3 was
#      run for any policy: the held-out check of the configuration chosen after D2)
#   (D1, D2 and C were fixed before any of them was run, after A and Bm of results/study11, to
#   check the mode chosen from A and Bm on grids nobody had looked at: docs/lab/results-notebook.md)
# Pool variants are evaluated with their validation-selected policy (policy_best: chosen on
# held-out pool tasks only), the paper recipe with its last policy (it has no suite).
# Usage: bash experiments/evaluate_study.sh [OUT] [STAGES]   (e.g. results/study10 "A B C")
set -u
OUT=${1:-results/study10}
STAGES=${2:-"A B C"}
PY=${PYTHON:-python}
CNN_STEPS=${CNN_STEPS:-1000}
SCHEDULES=constant,linear,cosine,warmup_cosine,onecycle  # the handcrafted rows of every stage but B2
export JAX_COMPILATION_CACHE_DIR=${JAX_COMPILATION_CACHE_DIR:-$OUT/jax_cache}
POLICIES=()
for run in "$OUT"/*/checkpoints/rec_ippo/*; do
  uid=$(basename "$run")
  [ -f "$OUT/$uid/done" ] || continue
  if [ -d "$run/policy_best" ]; then POLICIES+=(--policy "$uid=$run/policy_best"); else POLICIES+=(--policy "$uid=$run/policy"); fi
done
echo "${#POLICIES[@]} policy arguments: ${POLICIES[*]}"
EVAL=(-u -m mava_ganno.evaluation.cli "${POLICIES[@]}" --no-random --out "$OUT/eval")
for stage in $STAGES; do
  start=$(date +%s)
  case $stage in
    A|A0) lrs=1e-4,3e-4,1e-3,3e-3,1e-2; [ "$stage" = A0 ] && lrs=0,$lrs
       $PY "${EVAL[@]}" --scenario mlp5-mnist_5k --name "$stage-mlp5-mnist_5k" --lrs "$lrs" \
         --weight-decays 0.1,1e-4 --seeds 3 --modes sampled,greedy \
         --methods "$SCHEDULES" > "$OUT/eval-$stage.log" 2>&1 ;;
    B) $PY "${EVAL[@]}" --scenario mlp7-mnist_5k --hidden 256 --name B-mlp7w256-mnist_5k --lrs 1e-4,1e-3,1e-2 \
         --weight-decays 1e-2 --seeds 3 --modes sampled \
         --methods "$SCHEDULES" > "$OUT/eval-B.log" 2>&1 ;;
    Bm) $PY "${EVAL[@]}" --scenario mlp7-mnist_5k --hidden 256 --name Bm-mlp7w256-mnist_5k --lrs 1e-4,1e-3,1e-2 \
         --weight-decays 1e-2 --seeds 3 --modes sampled,greedy \
         --methods "$SCHEDULES" > "$OUT/eval-Bm.log" 2>&1 ;;
    B2) $PY "${EVAL[@]}" --scenario mlp7-mnist_5k --hidden 256 --name B2-mlp7w256-greedy --lrs 1e-4,1e-3,1e-2 \
         --weight-decays 1e-2 --seeds 3 --modes greedy --methods constant > "$OUT/eval-B2.log" 2>&1 ;;
    C) $PY "${EVAL[@]}" --scenario cnn5-mnist_5k --width 8 --sl-steps "$CNN_STEPS" --name C-cnn5-mnist_5k \
         --lrs 3e-4,1e-3,3e-3 --weight-decays 0.1 --seeds 3 --modes sampled,greedy \
         --methods "$SCHEDULES" > "$OUT/eval-C.log" 2>&1 ;;
    D1) $PY "${EVAL[@]}" --scenario mlp3-mnist_5k --hidden 512 --name D1-mlp3w512-mnist_5k --lrs 1e-4,1e-3,1e-2 \
         --weight-decays 1e-3 --seeds 3 --modes sampled,greedy \
         --methods "$SCHEDULES" > "$OUT/eval-D1.log" 2>&1 ;;
    D2) $PY "${EVAL[@]}" --scenario mlp9-mnist_5k --hidden 128 --name D2-mlp9w128-mnist_5k --lrs 1e-4,1e-3,1e-2 \
         --weight-decays 0.1 --seeds 3 --modes sampled,greedy \
         --methods "$SCHEDULES" > "$OUT/eval-D2.log" 2>&1 ;;
    D3) $PY "${EVAL[@]}" --scenario mlp12-mnist_5k --hidden 64 --name D3-mlp12w64-mnist_5k --lrs 1e-4,1e-3,1e-2 \
         --weight-decays 3e-2 --seeds 3 --modes sampled,greedy \
         --methods "$SCHEDULES" > "$OUT/eval-D3.log" 2>&1 ;;
    *) echo "unknown stage $stage (A, A0, B, Bm, B2, C, D1, D2, D3)"; exit 2 ;;
  esac
  echo "$(date +%T) stage $stage rc=$? $(( $(date +%s) - start )) s"
done
for d in "$OUT"/eval/*/; do $PY experiments/study_table.py --runs "$OUT" "$d" > "$d/study_table.md"; done
