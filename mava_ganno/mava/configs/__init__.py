"""Config tree that Hydra searches only inside Mava apps (see hydra_plugins/mava_ganno_searchpath).

``mava_host/ganno.yaml``: the ``arch``/``system`` values that ``env/ganno.yaml`` applies when a
Mava system trains GANNO (Mava's own defaults are sized for cheap environments on GPUs).
mava_ganno's own entry points never see it, so their configs are not changed by it.
"""
