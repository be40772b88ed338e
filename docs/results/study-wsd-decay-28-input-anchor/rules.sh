#!/usr/bin/env bash
# Round 24, beside chain.sh (demonstrations, then RL from clones s3, s0, s1): rule 2 scores each
# run's policy_best on seeds 0-7 in its chosen mode as soon as the run is done (one
# rescore_validation.py call per run; the same command and reference cache for all), then picks
# the highest score, ties to the higher worst; rule 3 (fresh seeds 126-133, --split 2): the
# candidate in its mode and the shipped policy (round 23's clone s3, by its files, greedy), both
# in the wsd-decay-28-input environment.
set -u
cd /tmp/wt24
export PYTHONPATH=/tmp/wt24 JAX_COMPILATION_CACHE_DIR=/tmp/wt24/results/study-wsd-decay-28-input-anchor/jax_cache JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=1
PY=/work/main/.venv/bin/python
OUT=results/study-wsd-decay-28-input-anchor
SHIPPED=docs/results/study-wsd-decay-28-input/clone_s3
CACHE=/work/main/results/reference_cache
. experiments/common.sh
ENV="$(variant_env wsd-decay-28-input) env.kwargs.action_table=rich"
for s in 3 0 1; do
  until [ -f $OUT/clone-rl_s$s/done ]; do sleep 30; done
  p=$OUT/clone-rl_s$s/checkpoints/rec_ippo/clone-rl_s$s/policy_best
  [ -f $OUT/rescore_s$s.jsonl ] && { echo "skip rule2 s$s (done)"; continue; }
  mode=$($PY -c "import json; print(json.load(open('$p/policy.json'))['metadata']['validation_mode'])")
  start=$(date +%s)
  # shellcheck disable=SC2086
  $PY experiments/rescore_validation.py --reference-cache $CACHE $p -- $ENV \
    'env.scenario.validation.seeds=[0,1,2,3,4,5,6,7]' "env.scenario.validation.modes=[$mode]" > $OUT/rescore_s$s.part 2> $OUT/rescore_s$s.err
  rc=$?
  echo "$(date +%T) rule2 s$s ($mode) rc=$rc $(( $(date +%s) - start )) s"
  [ $rc -eq 0 ] || exit 1
  mv $OUT/rescore_s$s.part $OUT/rescore_s$s.jsonl
done
cat $OUT/rescore_s3.jsonl $OUT/rescore_s0.jsonl $OUT/rescore_s1.jsonl > $OUT/rescore_runs.jsonl
read -r CAND MODE < <($PY - <<PYEOF
import json
rows = [json.loads(l) for l in open("$OUT/rescore_runs.jsonl") if l.startswith("{")]
assert len(rows) == 3, len(rows)
best = max(rows, key=lambda r: (round(r["validation_score"], 6), r["validation_worst"]))
print(best["policy"], best["validation_mode"])
PYEOF
)
echo "candidate: $CAND ($MODE)" | tee $OUT/rule2.txt
SEEDS='env.scenario.validation.seeds=[126,127,128,129,130,131,132,133]'
start=$(date +%s)
# shellcheck disable=SC2086
$PY experiments/rescore_validation.py --reference-cache $CACHE --split 2 $CAND -- $ENV "$SEEDS" "env.scenario.validation.modes=[$MODE]" \
  > $OUT/rule3_candidate.md 2> $OUT/rule3_candidate.err
rc=$?
echo "$(date +%T) rule3 candidate rc=$rc $(( $(date +%s) - start )) s"
start=$(date +%s)
# shellcheck disable=SC2086
$PY experiments/rescore_validation.py --reference-cache $CACHE --split 2 $SHIPPED -- $ENV "$SEEDS" 'env.scenario.validation.modes=[greedy]' \
  > $OUT/rule3_shipped.md 2> $OUT/rule3_shipped.err
rc=$?
echo "$(date +%T) rule3 shipped rc=$rc $(( $(date +%s) - start )) s"
echo "$(date +%T) rules done"
