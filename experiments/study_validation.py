"""Training-side summary of a task-distribution study: per variant, over RL seeds, the validation-suite
scores through training (from each run's log) and of the selected policy (policy_best), and
the training wall time, and the action mode the suite chose (suites that validate both modes;
"sampled" for older runs, which validated sampled actions only).

Usage: python experiments/study_validation.py results/study10 > validation.md
"""

from __future__ import annotations

import json
import re
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

LINE = re.compile(r"Timestep: (\d+) \| Validation advantage: ([-\d.]+) \| Validation worst: ([-\d.]+)")
RUN = re.compile(r"^(?P<variant>.+)_s(?P<seed>\d+)$")


def fmt(v) -> str:
    v = np.asarray(v, float)
    return f"{v.mean():+.2f} ± {v.std(ddof=1) if len(v) > 1 else 0.0:.2f}"


def main(out: Path) -> None:
    curves = defaultdict(dict)  # variant -> seed -> [(t, adv, worst)]
    best, seconds = defaultdict(dict), defaultdict(dict)
    for log in sorted(out.glob("*.log")):
        m = RUN.match(log.stem)
        if not m or not (out / log.stem / "done").is_file():
            continue
        v, s = m["variant"], int(m["seed"])
        curves[v][s] = [(int(t), float(a), float(w)) for t, a, w in LINE.findall(log.read_text())]
        done = (out / log.stem / "done").read_text().strip()
        seconds[v][s] = float(done) if done.replace(".", "").isdigit() else float("nan")
        meta_path = out / log.stem / "checkpoints" / "rec_ippo" / log.stem / "policy_best" / "policy.json"
        if meta_path.is_file():
            meta = json.loads(meta_path.read_text())["metadata"]
            mode = meta.get("validation_mode", "sampled")  # suites without modes validated sampled actions
            score = meta.get("validation_score", meta["validation_advantage"])  # suites with a selection score
            best[v][s] = (meta["selected_at_timestep"], meta["validation_advantage"], meta["validation_worst"], mode, score)
    print("| Variant | RL seeds | validation advantage, first check | last check | selected policy (policy_best) "
          "| its worst cell | its selection score | selected at timestep | selected mode | training wall time (s) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for v in sorted(curves):
        seeds = sorted(curves[v])
        first = [curves[v][s][0][1] for s in seeds if curves[v][s]]
        last = [curves[v][s][-1][1] for s in seeds if curves[v][s]]
        b = [best[v][s] for s in seeds if s in best[v]]
        cells = [fmt(first) if first else "/", fmt(last) if last else "/",
                 fmt([x[1] for x in b]) if b else "/ (no suite: last policy)", fmt([x[2] for x in b]) if b else "/",
                 fmt([x[4] for x in b]) if b else "/", ", ".join(str(x[0]) for x in b) if b else "/",
                 ", ".join(x[3] for x in b) if b else "/"]
        t = [seconds[v][s] for s in seeds]
        print(f"| {v} | {', '.join(map(str, seeds))} | " + " | ".join(cells) + f" | {np.nanmean(t):.0f} |")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(Path(sys.argv[1]))
