"""The shared recurrent GANNO policy.

- ``networks``: the Mava-compatible recurrent actor and critic, and their sizes;
- ``normalisation``: running observation statistics;
- ``policy``: ``GannoPolicy`` (a jittable ``act`` for any number of layers), its
  initialisation and metadata;
- ``io``: save/load (JSON + flax msgpack, written atomically) and the policies shipped with
  the package (``load_policy("default")``, ``load_shipped_policy``, ``shipped_policy_dir``).
"""

from mava_ganno.policy.io import (
    CONFIG_FILE,
    PARAMS_FILE,
    POLICY_FORMAT,
    SHIPPED_POLICIES,
    PolicyFileError,
    atomic_write_dir,
    load_policy,
    load_shipped_policy,
    policy_config,
    policy_digest,
    policy_folder_digest,
    resolve_policy_dir,
    save_policy,
    shipped_policy_dir,
)
from mava_ganno.policy.networks import (
    DiscreteActionHead,
    MLPTorso,
    NetworkConfig,
    RecurrentActor,
    RecurrentValueNet,
    ScannedRNN,
    make_actor,
    make_critic,
)
from mava_ganno.policy.normalisation import ObsNormStats, continuous_feature_mask, welford
from mava_ganno.policy.policy import (
    LAYER_ACTIONS,
    GannoPolicy,
    init_policy,
    init_policy_for_env,
    policy_is_single_agent,
    policy_lr_decay,
    policy_metadata_value,
    policy_mode,
)

__all__ = [
    "LAYER_ACTIONS",
    "CONFIG_FILE",
    "PARAMS_FILE",
    "POLICY_FORMAT",
    "SHIPPED_POLICIES",
    "DiscreteActionHead",
    "GannoPolicy",
    "MLPTorso",
    "NetworkConfig",
    "ObsNormStats",
    "PolicyFileError",
    "RecurrentActor",
    "RecurrentValueNet",
    "ScannedRNN",
    "atomic_write_dir",
    "continuous_feature_mask",
    "init_policy",
    "init_policy_for_env",
    "load_policy",
    "load_shipped_policy",
    "make_actor",
    "make_critic",
    "policy_config",
    "policy_digest",
    "policy_folder_digest",
    "policy_is_single_agent",
    "policy_metadata_value",
    "policy_lr_decay",
    "policy_mode",
    "save_policy",
    "shipped_policy_dir",
    "resolve_policy_dir",
    "welford",
]
