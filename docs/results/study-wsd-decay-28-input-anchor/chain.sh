#!/usr/bin/env bash
# Round 24: regenerate round 23's demonstrations, then RL with the KL anchor from clones s3, s0, s1
cd /tmp/wt24
export PYTHONPATH=/tmp/wt24 PYTHON=/work/main/.venv/bin/python
O=results/study-wsd-decay-28-input-anchor
echo "$(date +%T) demos"
VARIANT=wsd-decay-28-input TABLE=rich SCHEDULES=warmup_cosine,onecycle,cosine,wsd,linear INITIAL_LRS=1e-4,1e-3,3e-3,1e-2 PEAKS_ABOVE_START=1 KEEP_TOP_BY=start DEMO_SEEDS=0,1,2 bash experiments/study_demonstrations.sh $O "" demos
[ -f $O/demos.npz ] || { echo "no demos.npz"; exit 1; }
cp -rn docs/results/study-wsd-decay-28-input/clone_s{0,1,3} $O/
VARIANT=wsd-decay-28-input TABLE=rich KL_UPDATES=null bash experiments/study_demonstrations.sh $O "3 0 1" rl
echo "$(date +%T) chain done"
