#!/bin/bash
# Fifth pilot: candidate suite tasks, each scored alone with the shipped policy on seeds 94-101 (--split 2).
cd /tmp/wt21
export PYTHONPATH=/tmp/wt21
PY=/work/main/.venv/bin/python
source experiments/common.sh
SEEDS=${SEEDS:-94,95,96,97,98,99,100,101}
OUTD=results/pilot-tasks
run() {
  local name=$1 kw=$2 s=$(date +%s)
  $PY experiments/rescore_validation.py --split 2 docs/results/study-wsd-decay-clone-above-3seeds/clone_s5 -- $(variant_env wsd-decay) env.kwargs.action_table=rich "env.scenario.validation.seeds=[$SEEDS]" 'env.scenario.validation.modes=[greedy]' '~env.scenario.validation.tasks' "+env.scenario.validation.tasks={$name:{env_kwargs:{$kw}}}" > $OUTD/${name}_${SEEDS//,/-}.md 2> $OUTD/${name}_${SEEDS//,/-}.log
  echo "$(date +%T) $name rc=$? $(( $(date +%s) - s )) s"
}
run mlp3-wide-digits7 'network:mlp3,hidden:128,dataset:"digits:shift=1,perm=7,val=0.3"'
run mlp3-wide-teacher13 'network:mlp3,hidden:128,dataset:"teacher:mlp,seed=13"'
run mlp3-wide-teacher14-short 'network:mlp3,hidden:128,dataset:"teacher:mlp,seed=14",sl_steps:1000'
run cnn3-digits8 'network:cnn3,width:16,dataset:"digits:shift=1,perm=8,val=0.3"'
run cnn2-wide-teacher15-short 'network:cnn2,width:16,dataset:"teacher:linear,seed=15",sl_steps:1000'
run vit2-digits9-short 'network:vit2,width:16,hidden:64,dataset:"digits:shift=1,perm=9,val=0.3",sl_steps:1000'
