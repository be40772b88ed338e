"""mava_ganno's Hydra plugin package (see ``mava_ganno_searchpath.py``).

The ``hydra_plugins`` directory above has no ``__init__.py`` (a namespace package shared by
every installed Hydra plugin), while this sub-package needs one: Hydra only recurses into
regular packages when it scans for plugins.
"""
