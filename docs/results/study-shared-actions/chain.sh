#!/bin/bash
# Round 21: rule 1' (8 seeds) on the shared-action copies of round 14's clones, rule 2, then rule 3 on seeds 78-85.
cd /tmp/wt21
export PYTHONPATH=/tmp/wt21
PY=/work/main/.venv/bin/python
source experiments/common.sh
D=results/study-shared-actions
ENVO="$(variant_env wsd-decay) env.kwargs.action_table=rich"
date +%T; s=$(date +%s)
$PY experiments/with_layer_actions.py shared --out $D docs/results/study-wsd-decay-clone-above-3seeds/clone_s{0,1,2,3,4,5} || exit 1
$PY experiments/rescore_validation.py $D/clone_s{0,1,2,3,4,5} -- $ENVO 'env.scenario.validation.seeds=[0,1,2,3,4,5,6,7]' 'env.scenario.validation.modes=[greedy]' > $D/rescore_clones.jsonl 2> $D/rescore_clones.log || exit 1
echo "rule 1' $(( $(date +%s) - s )) s"
CAND=$($PY - <<'PYEOF'
import json
rows=[json.loads(l) for l in open("results/study-shared-actions/rescore_clones.jsonl") if l.startswith("{")]
best=max(rows, key=lambda r:(r["validation_score"], r["validation_worst"]))
print(best["policy"])
PYEOF
)
echo "candidate: $CAND" | tee $D/rule2.txt
s=$(date +%s)
$PY experiments/rescore_validation.py --split 2 $CAND -- $ENVO 'env.scenario.validation.seeds=[78,79,80,81,82,83,84,85]' 'env.scenario.validation.modes=[greedy]' > results/fresh/shared-actions_78-85.md 2> $D/rule3_candidate.log || exit 1
echo "rule 3 candidate $(( $(date +%s) - s )) s"
s=$(date +%s)
$PY experiments/rescore_validation.py --split 2 docs/results/study-wsd-decay-clone-above-3seeds/clone_s5 -- $ENVO 'env.scenario.validation.seeds=[78,79,80,81,82,83,84,85]' 'env.scenario.validation.modes=[greedy]' > results/fresh/default_78-85.md 2> $D/rule3_incumbent.log || exit 1
echo "rule 3 incumbent $(( $(date +%s) - s )) s"
date +%T
