"""Hydra configs of mava_ganno, installed as the package ``mava_ganno.configs``.

Searched by mava_ganno's own entry points and, through the Hydra SearchPathPlugin in
``hydra_plugins/``, by Mava's systems (``env=ganno``).
"""
