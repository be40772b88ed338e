"""The study scripts' shared recipes (``experiments/common.sh``): every named variant composes into
a config the trainer accepts, an unknown one is refused naming the known ones, and ``train_run``
skips a finished run, resumes one cut off after a checkpoint and starts the rest afresh."""

from __future__ import annotations

import os
import re
import shlex
import stat
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMMON = os.path.join(ROOT, "experiments", "common.sh")


def _bash(script: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", f". {shlex.quote(COMMON)}; {script}"], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, **(env or {})})


def _recipes():
    """``{variant: its recipe line}`` for the variants ``variant_env``'s case names (``a|b)`` gives two)."""
    text = open(COMMON).read()
    body = text[text.index("variant_env() {"):text.index("variant_args() {")]
    return {v: line for labels, line in re.findall(r"^\s{4}([a-z0-9|_-]+)\) (echo .*)$", body, re.M)
            for v in labels.split("|")}


def test_an_unknown_variant_is_refused_naming_every_known_one():
    r = _bash("variant_args no-such-variant")
    assert r.returncode == 2 and r.stdout == ""
    named = re.search(r"unknown variant no-such-variant \((.*)\)", r.stderr.replace("\n", " ")).group(1)
    assert sorted(v.strip() for v in named.split(",")) == sorted(_recipes())


def test_every_variant_composes_into_a_config_the_trainer_accepts(monkeypatch):
    """Each variant's overrides compose and pass the trainer's checks: known keys, the budget, the
    initial conditions (``lr_focus``), the validation suite's settings (reference, scores,
    resolution) and the environment's arguments (features, reward, action table, LR decay); a typo
    in a recipe fails here, not hours into a study run."""
    from mava_ganno.systems import validation
    from mava_ganno.train import compose_checked
    from mava_ganno.utils import make_env
    from mava_ganno.utils.config import check_config

    recipes = _recipes()
    variants = list(recipes)
    assert len(variants) >= 27 and len(set(variants)) == len(variants)
    tasks, env_kwargs = [], {}
    monkeypatch.setattr(make_env, "make_task", lambda config, name, task, *a, **k: tasks.append(name) or name)
    monkeypatch.setattr(validation, "make_method_runner", lambda env: env)
    for v in variants:
        r = _bash(f"variant_args {v}")
        assert r.returncode == 0, (v, r.stderr)
        # split as the scripts do: `$(variant_args V)` unquoted, words without quote removal
        cfg = check_config(compose_checked(r.stdout.split()), n_devices=1)
        assert cfg.system.num_updates >= 1, v
        make_env.make_generator(cfg)
        del tasks[:]
        suite = validation.ValidationSuite.from_config(cfg)
        strong = "$STRONG" in recipes[v] or "reference=best_schedule" in recipes[v]
        if suite is None:  # the paper's scenarios select without a suite
            assert not strong and not tasks, v
        else:
            assert sorted(suite.envs) == sorted(tasks) and tasks, v
            assert suite.reference == ("best_schedule" if strong else "constant"), v
        env_kwargs.setdefault(repr(sorted(make_env.env_kwargs(cfg, {}).items())), (v, cfg))
    for v, cfg in env_kwargs.values():  # the environment's arguments, once per distinct set
        env = make_env.make_single(cfg, **{"dataset": "digits"})
        assert env.num_agents >= 1, v


def _stub_python(tmp_path):
    """A stand-in for the interpreter: records its arguments, writes a checkpoint, then fails
    when STUB_FAIL is set (a run cut off after its first checkpoint), else succeeds."""
    stub = tmp_path / "python"
    stub.write_text("""#!/usr/bin/env bash
echo "$*" >> "$STUB_CALLS"
for a in "$@"; do
  case $a in logger.base_exp_path=*) base=${a#*=} ;; logger.checkpointing.save_args.checkpoint_uid=*) uid=${a#*=} ;; esac
done
mkdir -p "$base/checkpoints/rec_ippo/$uid/ckpt_1" && echo '{}' > "$base/checkpoints/rec_ippo/$uid/ckpt_1/meta.json"
echo "stub ran"
[ -z "${STUB_FAIL:-}" ]
""")
    stub.chmod(stub.stat().st_mode | stat.S_IEXEC)
    return stub


def test_train_run_starts_resumes_after_a_checkpoint_and_then_skips(tmp_path):
    stub, calls, out = _stub_python(tmp_path), tmp_path / "calls", tmp_path / "out"
    out.mkdir()
    env = {"PY": str(stub), "OUT": str(out), "STUB_CALLS": str(calls)}
    run = "train_run r1 system.seed=3"

    cut = _bash(run, {**env, "STUB_FAIL": "1"})  # cut off after its first checkpoint
    assert cut.returncode == 1 and "start r1" in cut.stdout and "end r1 rc=1" in cut.stdout
    assert not (out / "r1" / "done").exists()
    first = calls.read_text().splitlines()
    assert len(first) == 1 and "--resume" not in first[0] and first[0].startswith("-u -m mava_ganno.train system.seed=3")

    resumed = _bash(run, env)  # goes on from the checkpoint, with the same overrides
    assert resumed.returncode == 0 and "resume r1" in resumed.stdout and "end r1 rc=0" in resumed.stdout
    second = calls.read_text().splitlines()[1]
    assert second.startswith("-u -m mava_ganno.train --resume logger.checkpointing.load_args.checkpoint_uid=r1 system.seed=3")
    assert int((out / "r1" / "done").read_text()) >= 0
    assert (out / "r1.log").read_text().count("stub ran") == 2  # the resumed part's log is appended

    done = _bash(run, env)
    assert done.returncode == 0 and "skip r1 (done)" in done.stdout and len(calls.read_text().splitlines()) == 2


def test_train_run_without_a_checkpoint_starts_afresh_and_clears_the_old_log(tmp_path):
    stub, calls, out = _stub_python(tmp_path), tmp_path / "calls", tmp_path / "out"
    (out / "r2").mkdir(parents=True)
    (out / "r2.log").write_text("an earlier run's output\n")
    r = _bash("train_run r2", {"PY": str(stub), "OUT": str(out), "STUB_CALLS": str(calls)})
    assert r.returncode == 0 and "start r2" in r.stdout
    assert "--resume" not in calls.read_text() and (out / "r2.log").read_text() == "stub ran\n"


@pytest.mark.parametrize("variant", ["paper", "strong-cosine-rich-long", "wsd-decay"])
def test_variant_budgets(variant):
    """The budget follows the variant's name: the paper's 12,800 steps on one env, ``-long``
    twice the others' 12,800 on two."""
    args = _bash(f"variant_args {variant}").stdout.split()
    steps = {"paper": "12800", "strong-cosine-rich-long": "25600", "wsd-decay": "12800"}[variant]
    assert f"system.total_timesteps={steps}" in args
    assert ("arch.num_envs=2" in args) == (variant != "paper")


def test_keep_records_keeps_each_finished_step_and_restores_them_on_a_new_machine(tmp_path):
    """``keep_records.py`` copies what a study chain finished out of its run folder (parts
    compressed, finished policy folders, ``done`` files, score rows and logs, the reference cache),
    leaves what is unfinished, copies a log again once the chain wrote more, never overwrites a
    record edited after a restore, and ``--restore`` puts everything back into an empty run."""
    import sys
    import zipfile

    import numpy as np

    sys.path.insert(0, os.path.join(ROOT, "experiments"))
    try:
        import keep_records
    finally:
        sys.path.pop(0)
    run, records, cache = tmp_path / "run", tmp_path / "records", tmp_path / "cache"
    (run / "demos.npz.parts").mkdir(parents=True)
    obs = np.arange(600, dtype=np.float32).reshape(5, 4, 30) % 7
    np.savez(run / "demos.npz.parts" / "group000.npz", part_key=np.asarray("k"), **{"runs/obs": obs})
    (run / "demos.npz.parts" / "group001.tmp.npz").write_bytes(b"being written")
    for name, finished in (("clone_s0", True), ("clone_s1", False)):
        (run / name).mkdir()
        (run / name / "params.msgpack").write_bytes(b"\x01\x02")
        if finished:
            (run / name / "policy.json").write_text("{}")
    best = run / "clone-rl_s0" / "checkpoints" / "rec_ippo" / "clone-rl_s0" / "policy_best"
    best.mkdir(parents=True)
    (best / "policy.json").write_text("{}")
    (best.parent / "ckpt_000010").mkdir()
    (best.parent / "ckpt_000010" / "meta.json").write_text("{}")
    (run / "clone-rl_s0" / "done").write_text("2400\n")
    (run / "chain.log").write_text("start\n")
    (run / "rescore_clones.part").write_text('{"policy": "clone_s0"}\n')
    (run / "chain.sh").write_text("echo chain\n")
    cache.mkdir()
    (cache / "abc.npz").write_bytes(b"reference")
    (cache / "abc.npz.tmp.npz").write_bytes(b"being written")

    kept = keep_records.keep(str(run), str(records), str(cache))
    assert sorted(kept) == sorted([
        "demos.npz.parts/group000.npz", "clone_s0/params.msgpack", "clone_s0/policy.json",
        "clone-rl_s0/checkpoints/rec_ippo/clone-rl_s0/policy_best/policy.json", "clone-rl_s0/done",
        "chain.log", "rescore_clones.part", "reference_cache/abc.npz"])
    with zipfile.ZipFile(records / "demos.npz.parts" / "group000.npz") as z:
        assert {i.compress_type for i in z.infolist()} == {zipfile.ZIP_DEFLATED}
    with np.load(records / "demos.npz.parts" / "group000.npz", allow_pickle=False) as f:
        np.testing.assert_array_equal(f["runs/obs"], obs)
        assert str(f["part_key"]) == "k"
    assert keep_records.keep(str(run), str(records), str(cache)) == []  # nothing new: nothing copied
    (run / "chain.log").write_text("start\nclones done\n")
    os.utime(run / "chain.log", (2e9, 2e9))  # the chain wrote more since
    assert keep_records.keep(str(run), str(records), str(cache)) == ["chain.log"]
    assert (records / "chain.log").read_text() == "start\nclones done\n"
    (records / "README.txt").write_text("records\n")

    run2, cache2 = tmp_path / "run2", tmp_path / "cache2"
    restored = keep_records.restore(str(run2), str(records), str(cache2))
    assert "README.txt" in restored and str(cache2 / "abc.npz") in restored
    for rel in kept:
        if not rel.startswith("reference_cache"):
            assert (run2 / rel).read_bytes() == (records / rel).read_bytes(), rel
    assert (cache2 / "abc.npz").read_bytes() == b"reference"
    (records / "README.txt").write_text("records, edited after the restore\n")
    os.utime(records / "README.txt", (3e9, 3e9))
    assert keep_records.keep(str(run2), str(records), str(cache2)) == []  # the older run copy stays out
    assert (records / "README.txt").read_text() == "records, edited after the restore\n"
    assert keep_records.restore(str(run2), str(records), str(cache2)) == []  # never over a run's file
    assert keep_records.main([str(tmp_path / "missing"), str(records)]) == 2
