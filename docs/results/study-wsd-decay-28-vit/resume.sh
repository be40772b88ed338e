#!/usr/bin/env bash
# Round 25, resumed after the first call was stopped before rule 1' wrote a line (pre-registered, study plan "Twenty-fifth round"): demonstrations and clones on
# pool-deep-28-vit (round 23's command, VARIANT=wsd-decay-28-vit), rule 1' (8 seeds, the four
# clones and the shipped policy's files, greedy, one call), rule 2 (highest score among the
# clones, ties to the higher worst), rule 3 (fresh seeds 134-141, --split 2): the candidate, then
# the policy shipped when rule 3 runs, named in shipped.txt (written once round 24's verdict is
# known), both in the wsd-decay-28-vit environment.
set -u
cd /tmp/wt25
export PYTHONPATH=/tmp/wt25 JAX_COMPILATION_CACHE_DIR=/tmp/wt25/results/study-wsd-decay-28-vit/jax_cache JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=1
PY=/work/main/.venv/bin/python
OUT=results/study-wsd-decay-28-vit
SHIPPED_NOW=docs/results/study-wsd-decay-28-input/clone_s3
CACHE=/work/main/results/reference_cache
. experiments/common.sh
PYTHON=$PY VARIANT=wsd-decay-28-vit TABLE=rich SCHEDULES=warmup_cosine,onecycle,cosine,wsd,linear INITIAL_LRS=1e-4,1e-3,3e-3,1e-2 \
  PEAKS_ABOVE_START=1 KEEP_TOP_BY=start DEMO_SEEDS=0,1,2 bash experiments/study_demonstrations.sh $OUT "0 1 2 3" "demos clone" > $OUT/run.log 2>&1
for s in 0 1 2 3; do [ -f $OUT/clone_s$s/policy.json ] || { echo "clone_s$s missing"; exit 1; }; done
ENV="$(variant_env wsd-decay-28-vit) env.kwargs.action_table=rich"
start=$(date +%s)
# shellcheck disable=SC2086
$PY experiments/rescore_validation.py --reference-cache $CACHE $OUT/clone_s0 $OUT/clone_s1 $OUT/clone_s2 $OUT/clone_s3 $SHIPPED_NOW -- $ENV \
  'env.scenario.validation.seeds=[0,1,2,3,4,5,6,7]' 'env.scenario.validation.modes=[greedy]' > $OUT/rescore_clones.jsonl 2> $OUT/rescore_clones.err
rc=$?
echo "$(date +%T) rule1' rc=$rc $(( $(date +%s) - start )) s"
[ $rc -eq 0 ] || exit 1
CAND=$($PY - <<PYEOF
import json
rows = [json.loads(l) for l in open("$OUT/rescore_clones.jsonl") if l.startswith("{")]
rows = [r for r in rows if "/clone_s" in r["policy"] and "study-wsd-decay-28-vit" in r["policy"]]
assert len(rows) == 4, len(rows)
best = max(rows, key=lambda r: (round(r["validation_score"], 6), r["validation_worst"]))
print(best["policy"])
PYEOF
)
echo "candidate: $CAND" | tee $OUT/rule2.txt
SEEDS='env.scenario.validation.seeds=[134,135,136,137,138,139,140,141]'
start=$(date +%s)
# shellcheck disable=SC2086
$PY experiments/rescore_validation.py --reference-cache $CACHE --split 2 $CAND -- $ENV "$SEEDS" 'env.scenario.validation.modes=[greedy]' \
  > $OUT/rule3_candidate.md 2> $OUT/rule3_candidate.err
rc=$?
echo "$(date +%T) rule3 candidate rc=$rc $(( $(date +%s) - start )) s"
until [ -f $OUT/shipped.txt ]; do sleep 30; done
SHIPPED=$(cat $OUT/shipped.txt)
start=$(date +%s)
# shellcheck disable=SC2086
$PY experiments/rescore_validation.py --reference-cache $CACHE --split 2 $SHIPPED -- $ENV "$SEEDS" 'env.scenario.validation.modes=[greedy]' \
  > $OUT/rule3_shipped.md 2> $OUT/rule3_shipped.err
rc=$?
echo "$(date +%T) rule3 shipped ($SHIPPED) rc=$rc $(( $(date +%s) - start )) s"
echo "$(date +%T) rules done"
