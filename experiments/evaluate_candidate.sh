#!/usr/bin/env bash
# The policy study's evaluation (docs/lab/2026-12-05-study-plan.md, rule 4), run once, after the
# candidate is selected on the validation suite (experiments/study_select.py): nothing here may
# select a policy.
#   bench     `ganno bench --suite full` with the candidate and the shipped policy, the baselines
#             reused from the committed full suite (same inputs) -> $OUT/bench
#   criteria  every criterion of the bar, met or missed (experiments/policy_criteria.py)
#             -> $OUT/criteria.md (the shipped policy's: criteria_default.md)
#   grid      the named grid: mlp5-mnist_5k, 3,000 SGD steps, LRs 1e-4..1e-2, weight decays 0.1
#             and 1e-4, 3 evaluation seeds, greedy, with every baseline -> $OUT/named-grid
# INCUMBENT=none (environment variable) evaluates the candidate alone, when the shipped policy's
# rows on the same suite and grid are committed already (each policy takes half the time).
# Usage: [INCUMBENT=none] bash experiments/evaluate_candidate.sh POLICY_FOLDER [OUT] [STEPS]
#   e.g. bash experiments/evaluate_candidate.sh results/study28-clone/clone-rl_s1/checkpoints/rec_ippo/clone-rl_s1/policy_best
set -u
POLICY=${1:?usage: evaluate_candidate.sh POLICY_FOLDER [OUT] [STEPS]}
OUT=${2:-results/study28-eval}
STEPS=${3:-"bench criteria grid"}
PY=${PYTHON:-python}
case ${INCUMBENT:-default} in
  default) SHIPPED="--policy default" ;;
  none) SHIPPED="" ;;
  *) echo "error: INCUMBENT=$INCUMBENT: use default (evaluate the shipped policy beside the candidate) or none" >&2; exit 2 ;;
esac
[ -f "$POLICY/policy.json" ] || { echo "error: $POLICY has no policy.json: give a policy folder (e.g. .../policy_best)" >&2; exit 2; }
export JAX_COMPILATION_CACHE_DIR=${JAX_COMPILATION_CACHE_DIR:-$OUT/jax_cache}
mkdir -p "$OUT"
for step in $STEPS; do
  start=$(date +%s)
  case $step in
    bench)
      $PY -u -m mava_ganno.cli bench --suite full --policy candidate="$POLICY" $SHIPPED \
        --reuse docs/results/bench/full --out "$OUT/bench" > "$OUT/bench.log" 2>&1 ;;
    criteria)
      # exit status 1 = some criterion missed (read the table); the candidate's status is reported
      [ -n "$SHIPPED" ] && $PY experiments/policy_criteria.py "$OUT/bench" ganno_shipped_default_greedy > "$OUT/criteria_default.md" 2> "$OUT/criteria.log"
      $PY experiments/policy_criteria.py "$OUT/bench" candidate_greedy > "$OUT/criteria.md" 2>> "$OUT/criteria.log" ;;
    grid)
      $PY -u -m mava_ganno.evaluation.cli --policy candidate="$POLICY" $SHIPPED --no-random \
        --scenario mlp5-mnist_5k --lrs 1e-4,3e-4,1e-3,3e-3,1e-2 --weight-decays 0.1,1e-4 --seeds 3 \
        --modes greedy --methods all --out "$OUT" --name named-grid > "$OUT/named-grid.log" 2>&1 ;;
    *) echo "unknown step $step (bench, criteria, grid)" >&2; exit 2 ;;
  esac
  echo "$(date +%T) $step rc=$? $(( $(date +%s) - start )) s"
done
