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


def hydra_error_line(e: BaseException, overrides: Sequence[str]) -> str:
    """One line for a Hydra composition error: a key that does not exist is named with the
    nearest known key (``check_known_keys``), anything else is Hydra's message on one line."""
    from mava_ganno.utils.config import ConfigError, check_known_keys

    for o in overrides:
        key, sep, value = o.lstrip("+~").partition("=")
        if not sep or "/" in key:
            continue
        try:
            check_known_keys(OmegaConf.from_dotlist([f"{key}={value}"]))
        except ConfigError as err:
            return str(err)
        except Exception:  # a value that does not parse: Hydra's message says so
            continue
    text = str(e).split("Config search path")[0]
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and "HYDRA_FULL_ERROR" not in ln]
    return " ".join(lines) or type(e).__name__


def compose_checked(overrides: Sequence[str] = ()) -> DictConfig:
    """``compose_config`` for a command line: a Hydra failure (an unknown key or group, bad
    syntax) or a key no config file defines is a ``ConfigError`` with a one-line message."""
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from mava_ganno.utils.config import ConfigError, check_known_keys

    try:
        cfg = compose_config(overrides)
    except (HydraException, OmegaConfBaseException) as e:
        raise ConfigError(hydra_error_line(e, overrides)) from None
    check_known_keys(cfg)
    return cfg


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Hydra entry point (``python -m mava_ganno.train`` / ``ganno train``). The overrides are
    composed once before Hydra runs, so that a bad one (an unknown key, a missing scenario, bad
    syntax) ends with one ``Config error:`` line and exit status 2, as the config checks do."""
    import hydra

    from mava_ganno.utils.config import ConfigError

    argv = list(sys.argv[1:] if argv is None else argv)
    overrides = _preprocess_argv(argv)
    if not any(a.startswith("-") for a in overrides):  # Hydra's own flags (--help, --cfg, -m) go to Hydra
        try:
            compose_checked(overrides)
        except ConfigError as e:
            print(f"Config error: {e}", file=sys.stderr)
            raise SystemExit(2) from None
    sys.argv = [sys.argv[0]] + overrides
    from mava_ganno.systems.rec_ippo import hydra_entry_point
    from mava_ganno.utils.files import terminate_as_exception

    with terminate_as_exception():  # SIGTERM ends like Ctrl-C: one line saying what was kept (hydra_entry_point)
        hydra.main(config_path=config_dir(), config_name=CONFIG_NAME, version_base="1.2")(hydra_entry_point)()


if __name__ == "__main__":
    main()
