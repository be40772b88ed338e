"""Copy the round's finished demonstration parts, compressed, into a folder that git keeps.

    python keep_parts.py /tmp/wt26/results/study-wsd-decay-28-frame-lm/demos.npz.parts \
        docs/results/study-wsd-decay-28-frame-lm/demos.npz.parts

A part already in the destination is left as it is; a part being written (*.tmp.npz) is skipped.
To go on from the kept parts on a new machine, copy them back into the source folder and run
resume.sh: `ganno demos` reads compressed parts as it reads its own.
"""
import os
import sys

import numpy as np

src, dst = sys.argv[1:3]
os.makedirs(dst, exist_ok=True)
for name in sorted(os.listdir(src)):
    if not name.startswith("group") or name.endswith(".tmp.npz") or os.path.exists(os.path.join(dst, name)):
        continue
    with np.load(os.path.join(src, name), allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    tmp = os.path.join(dst, name[: -len(".npz")] + ".tmp.npz")
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, os.path.join(dst, name))
    print(f"kept {name}: {os.path.getsize(os.path.join(dst, name)) / 1e6:.2f} MB")
