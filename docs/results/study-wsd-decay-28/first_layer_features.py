"""The first layer's observation in round 22's demonstrations from initial LR 1e-3: mean per group
at the first decision / the sixth (scaled features, as the policy sees them, before its own
standardisation). Usage: python first_layer_features.py <demos.npz>"""
import json
import sys

import numpy as np

from mava_ganno.env import observations as o

d = np.load(sys.argv[1], allow_pickle=False)
meta = json.loads(str(d["meta_json"]))
cols = [f.name for f in list(o._FEATURES) + list(o._CHANCE_FEATURES) for _ in range(f.width(len(meta["action_table"])))]
assert cols == [c for n in meta["features"] for c in [n] * cols.count(n)] and len(cols) == d["obs"].shape[-1]
names = ["weight_var", "weight_norm", "grad_norm", "trust_ratio", "update_norm"]
first = (d["agent"] == 0) & (d["initial_lr"] == np.float32(1e-3))
print("| group | " + " | ".join(names) + " |\n|---|" + "---|" * len(names))
for g, group in enumerate(meta["groups"]):
    obs = d["obs"][first & (d["group"] == g)]
    print(f"| {group} | " + " | ".join(f"{obs[:, 0, cols.index(n)].mean():+.2f} / {obs[:, 5, cols.index(n)].mean():+.2f}"
                                        for n in names) + " |")
