"""Policies shipped with mava_ganno, as package data (not code): one folder per name, each
written by ``mava_ganno.policy.save_policy`` (``policy.json`` + ``params.msgpack``) with its
``MODEL_CARD.md``. Load one with ``mava_ganno.policy.load_policy("default")`` or
``load_shipped_policy("default")``; the names are ``mava_ganno.policy.io.SHIPPED_POLICIES``."""
