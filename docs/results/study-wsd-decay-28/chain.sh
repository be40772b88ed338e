#!/usr/bin/env bash
# Round 22, after demos and clones: rule 1' (8 seeds, four clones + the shipped policy as a
# reported number), rule 2 (highest score, ties to the higher worst), rule 3 (fresh seeds
# 110-117, candidate and shipped policy in one call).
set -u
cd /tmp/wt22
export PYTHONPATH=/tmp/wt22 JAX_COMPILATION_CACHE_DIR=/tmp/wt22/results/study-wsd-decay-28/jax_cache JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=1
PY=/work/main/.venv/bin/python
OUT=results/study-wsd-decay-28
SHIPPED=docs/results/study-wsd-decay-clone-above-3seeds/clone_s5
. experiments/common.sh
until grep -q "clone_s3 rc=" $OUT/run.log; do sleep 30; done
for s in 0 1 2 3; do [ -f $OUT/clone_s$s/policy.json ] || { echo "clone_s$s missing"; exit 1; }; done
ENV="$(variant_env wsd-decay-28) env.kwargs.action_table=rich"
start=$(date +%s)
# shellcheck disable=SC2086
$PY experiments/rescore_validation.py $OUT/clone_s0 $OUT/clone_s1 $OUT/clone_s2 $OUT/clone_s3 $SHIPPED -- $ENV \
  'env.scenario.validation.seeds=[0,1,2,3,4,5,6,7]' 'env.scenario.validation.modes=[greedy]' > $OUT/rescore_clones.jsonl 2> $OUT/rescore_clones.err
rc=$?
echo "$(date +%T) rule1' rc=$rc $(( $(date +%s) - start )) s"
[ $rc -eq 0 ] || exit 1
CAND=$($PY - <<PYEOF
import json
rows = [json.loads(l) for l in open("$OUT/rescore_clones.jsonl") if l.startswith("{")]
clones = [r for r in rows if "/clone_s" in r["policy"] and r["policy"].startswith("$OUT/")]
assert len(clones) == 4, len(clones)
best = max(clones, key=lambda r: (round(r["validation_score"], 6), r["validation_worst"]))
print(best["policy"])
PYEOF
)
echo "candidate: $CAND" | tee $OUT/rule2.txt
start=$(date +%s)
# shellcheck disable=SC2086
$PY experiments/rescore_validation.py --split 2 $CAND $SHIPPED -- $ENV \
  'env.scenario.validation.seeds=[110,111,112,113,114,115,116,117]' 'env.scenario.validation.modes=[greedy]' > $OUT/rule3.md 2> $OUT/rule3.err
rc=$?
echo "$(date +%T) rule3 rc=$rc $(( $(date +%s) - start )) s"
