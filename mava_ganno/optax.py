"""Old import path of the optax export; the optimiser lives in ``mava_ganno.optimiser``.

``from mava_ganno.optax import ganno_adamw`` keeps working; new code imports
``mava_ganno.optimiser``.
"""

from mava_ganno.optimiser import *  # noqa: F401,F403
from mava_ganno.optimiser import __all__  # noqa: F401
