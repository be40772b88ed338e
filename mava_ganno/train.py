"""Train GANNO with recurrent IPPO, configured by Hydra (Mava's ``rec_ippo`` config tree).

    python -m mava_ganno.train env/scenario=mlp2-digits system.total_timesteps=50000
    ganno train env/scenario=cnn2-digits arch.num_envs=8 logger.use_json=True
    ganno train --resume          # continue the most recent run from its last checkpoint

Config: ``configs/default/rec_ippo.yaml`` (installed as ``mava_ganno.configs``), composing
``arch/anakin``, ``system/ppo/rec_ippo``, ``network/rnn``, ``env/ganno`` +
``env/scenario/<name>`` and ``logger/logger``. ``--resume`` is
``logger.checkpointing.load_model=True`` (and ``logger.checkpointing.load_args.checkpoint_uid``
picks a run other than the latest).
"""

from __future__ import annotations

import sys
from importlib import resources
from typing import List, Optional, Sequence

from omegaconf import DictConfig, OmegaConf

CONFIG_NAME = "rec_ippo"


def config_dir() -> str:
    """Absolute path of the installed ``configs/default`` directory."""
    return str(resources.files("mava_ganno.configs").joinpath("default"))


def compose_config(overrides: Sequence[str] = ()) -> DictConfig:
    """The training config with Hydra overrides, without running anything (tests, main job)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=config_dir(), version_base="1.2"):
        cfg = compose(config_name=CONFIG_NAME, overrides=list(overrides))
    OmegaConf.set_struct(cfg, False)
    cfg.logger.system_name = "rec_ippo"
    return cfg


def _preprocess_argv(argv: List[str]) -> List[str]:
    """``--resume`` -> the Hydra override ``logger.checkpointing.load_model=True``."""
    out = [a for a in argv if a != "--resume"]
    if len(out) != len(argv):
        out.append("logger.checkpointing.load_model=True")
    return out


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Hydra entry point (``python -m mava_ganno.train`` / ``ganno train``)."""
    import hydra

    argv = list(sys.argv[1:] if argv is None else argv)
    sys.argv = [sys.argv[0]] + _preprocess_argv(argv)
    from mava_ganno.systems.rec_ippo import hydra_entry_point

    hydra.main(config_path=config_dir(), config_name=CONFIG_NAME, version_base="1.2")(hydra_entry_point)()


if __name__ == "__main__":
    main()
