"""The seam with Mava, in one folder: the ``MarlEnv`` wrapper (``wrapper.py``, needs Mava),
the depth-independent MAPPO global state (``global_state.py``), the Mava checkpoint loader
(``checkpoint.py``, no Mava import) and the Mava-only configs (``configs/``).

Nothing here is imported by ``import mava_ganno``; Mava is imported only by ``wrapper.py``.
"""
