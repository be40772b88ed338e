"""A real throwaway distribution that registers a third-party layer type via entry points.

``throwaway_layer_type_distribution(tmp_path)`` writes ``ganno_lora_layers-0.1.dist-info``
(METADATA + entry_points.txt) and the module ``ganno_lora_layers.py`` into a folder, puts the
folder on ``sys.path`` for the duration of the context, and removes it afterwards. Nothing is
mocked: importlib.metadata finds it exactly as it finds a pip-installed package.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import textwrap
from pathlib import Path

import flax.linen as nn

MODULE = "ganno_lora_layers"
TYPE_NAME = "lora"
TYPE_SLOT = 4  # slots 0-3 are the built-in types


@contextlib.contextmanager
def throwaway_layer_type_distribution(folder: Path):
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{MODULE}.py").write_text(
        textwrap.dedent(
            f'''
            """A LoRA adapter layer: a frozen-shape kernel plus low-rank factors lora_a/lora_b."""
            from mava_ganno.layers import LayerType

            def _is_lora(node):
                return "lora_a" in node and "lora_b" in node and "kernel" in node

            LORA = LayerType("{TYPE_NAME}", {TYPE_SLOT}, _is_lora, "kernel + low-rank lora_a/lora_b")
            '''
        )
    )
    info = folder / f"{MODULE}-0.1.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {MODULE}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        f"[mava_ganno.layer_types]\n{TYPE_NAME} = {MODULE}:LORA\n"
    )
    sys.path.insert(0, str(folder))
    importlib.invalidate_caches()
    try:
        yield
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop(MODULE, None)
        importlib.invalidate_caches()


class LoRADense(nn.Module):
    """A user layer of the third-party type: kernel + low-rank factors ``lora_a``/``lora_b``."""

    features: int
    rank: int = 2
    a_std: float = 0.01
    b_std: float = 0.0  # 0: lora_b starts at zero (the usual LoRA init)

    @nn.compact
    def __call__(self, x):
        k = self.param("kernel", nn.initializers.lecun_normal(), (x.shape[-1], self.features))
        a = self.param("lora_a", nn.initializers.normal(self.a_std), (x.shape[-1], self.rank))
        b_init = nn.initializers.normal(self.b_std) if self.b_std else nn.initializers.zeros
        b = self.param("lora_b", b_init, (self.rank, self.features))
        return x @ k + x @ a @ b
