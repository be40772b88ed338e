#!/usr/bin/env bash
# Round 23, after demos and clones (study_demonstrations.sh, run.log): rule 1' (8 seeds, the four
# clones), rule 2 (highest score, ties to the higher worst), rule 3 (fresh seeds 118-125,
# --split 2): the candidate in the wsd-decay-28-input environment, then the shipped policy in
# the wsd-decay-28 one, the reference's runs shared through --reference-cache.
set -u
cd /tmp/wt23
export PYTHONPATH=/tmp/wt23 JAX_COMPILATION_CACHE_DIR=/tmp/wt23/results/study-wsd-decay-28-input/jax_cache JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=1
PY=/work/main/.venv/bin/python
OUT=results/study-wsd-decay-28-input
SHIPPED=docs/results/study-wsd-decay-clone-above-3seeds/clone_s5
CACHE=/work/main/results/reference_cache
. experiments/common.sh
until grep -q "clone_s3 rc=" $OUT/run.log; do sleep 30; done
for s in 0 1 2 3; do [ -f $OUT/clone_s$s/policy.json ] || { echo "clone_s$s missing"; exit 1; }; done
ENV="$(variant_env wsd-decay-28-input) env.kwargs.action_table=rich"
start=$(date +%s)
# shellcheck disable=SC2086
$PY experiments/rescore_validation.py --reference-cache $CACHE $OUT/clone_s0 $OUT/clone_s1 $OUT/clone_s2 $OUT/clone_s3 -- $ENV \
  'env.scenario.validation.seeds=[0,1,2,3,4,5,6,7]' 'env.scenario.validation.modes=[greedy]' > $OUT/rescore_clones.jsonl 2> $OUT/rescore_clones.err
rc=$?
echo "$(date +%T) rule1' rc=$rc $(( $(date +%s) - start )) s"
[ $rc -eq 0 ] || exit 1
CAND=$($PY - <<PYEOF
import json
rows = [json.loads(l) for l in open("$OUT/rescore_clones.jsonl") if l.startswith("{")]
assert len(rows) == 4, len(rows)
best = max(rows, key=lambda r: (round(r["validation_score"], 6), r["validation_worst"]))
print(best["policy"])
PYEOF
)
echo "candidate: $CAND" | tee $OUT/rule2.txt
SEEDS='env.scenario.validation.seeds=[118,119,120,121,122,123,124,125]'
start=$(date +%s)
# shellcheck disable=SC2086
$PY experiments/rescore_validation.py --reference-cache $CACHE --split 2 $CAND -- $ENV "$SEEDS" 'env.scenario.validation.modes=[greedy]' \
  > $OUT/rule3_candidate.md 2> $OUT/rule3_candidate.err
rc=$?
echo "$(date +%T) rule3 candidate rc=$rc $(( $(date +%s) - start )) s"
start=$(date +%s)
# shellcheck disable=SC2086
$PY experiments/rescore_validation.py --reference-cache $CACHE --split 2 $SHIPPED -- $(variant_env wsd-decay-28) env.kwargs.action_table=rich \
  "$SEEDS" 'env.scenario.validation.modes=[greedy]' > $OUT/rule3_shipped.md 2> $OUT/rule3_shipped.err
rc=$?
echo "$(date +%T) rule3 shipped rc=$rc $(( $(date +%s) - start )) s"
