"""The shared recurrent GANNO policy: networks, observation normalisation, the policy, save/load."""

from mava_ganno.policy.policy import *  # noqa: F401,F403
from mava_ganno.policy.policy import (  # noqa: F401
    CONFIG_FILE,
    PARAMS_FILE,
    POLICY_FORMAT,
    GannoPolicy,
    MLPTorso,
    NetworkConfig,
    ObsNormStats,
    load_policy,
    save_policy,
)
