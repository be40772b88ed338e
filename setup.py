"""mava_ganno: GANNO as a plug-in for the Mava MARL framework."""

from setuptools import find_namespace_packages, find_packages, setup

setup(
    name="mava_ganno",
    version="0.1.0",
    description="GANNO: Generalisable Agents for Neural Network Optimisation, for Mava (JAX).",
    long_description=open("README.md").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    # configs/ (top level, as Mava keeps it) is installed as the package mava_ganno.configs so
    # Hydra finds it as pkg://mava_ganno.configs from editable and wheel installs alike.
    # hydra_plugins/ (a namespace package: no __init__.py) holds the SearchPathPlugin that
    # makes `env=ganno` work in Mava's systems; listing the namespace itself makes editable
    # installs put hydra_plugins/ on hydra_plugins.__path__, where Hydra's scan looks.
    packages=find_packages(include=["mava_ganno", "mava_ganno.*"])
    + ["mava_ganno.configs"]
    + find_namespace_packages(include=["hydra_plugins", "hydra_plugins.*"], exclude=["*.__pycache__"]),
    package_dir={"mava_ganno.configs": "configs"},
    package_data={
        "mava_ganno.configs": ["*.yaml", "**/*.yaml"],
        "mava_ganno.mava.configs": ["*.yaml", "**/*.yaml"],
        # the shipped policies (mava_ganno.policy.io.SHIPPED_POLICIES): data folders, no code
        "mava_ganno.policies": ["*/policy.json", "*/params.msgpack", "*/MODEL_CARD.md"],
    },
    # Version floors are Mava's pinned stack (jax 0.4.30, flax 0.10.0, optax 0.2.3,
    # chex 0.1.87, numpy 1.26, its jumanji 0.3.1 fork); no ceilings, so the latest releases
    # install too.
    install_requires=[
        "jax>=0.4.30",
        "flax>=0.10.0",
        "optax>=0.2.3",
        "chex>=0.1.87",
        "numpy>=1.26",
        "jumanji>=0.3.1",
        "hydra-core>=1.3.2",
        "omegaconf>=2.3",
        "scikit-learn>=1.3",
        "mlxtend>=0.23",
        "matplotlib>=3.7",
        # ganno bench: IQM, bootstrap CIs and performance profiles. rliable 1.2 needs arch < 8,
        # whose last release breaks on pandas 3 (deprecate_kwarg's signature), hence pandas < 3
        # (Mava's pinned stack uses pandas 2.2).
        "rliable>=1.2",
        "pandas<3",
    ],
    extras_require={
        "tfds": ["tensorflow-datasets>=4.9", "tensorflow-cpu>=2.15"],
        "neptune": ["neptune>=1.10"],
        "dev": ["pytest>=7", "pytest-xdist>=3", "tensorflow-datasets>=4.9", "ruff>=0.4"],
    },
    entry_points={
        "console_scripts": ["ganno = mava_ganno.cli:main"],
        "mava_ganno.layer_types": [
            "linear = mava_ganno.layers:LINEAR",
            "convolutional = mava_ganno.layers:CONVOLUTIONAL",
            "attention = mava_ganno.layers:ATTENTION",
            "embedding = mava_ganno.layers:EMBEDDING",
        ],
        "mava_ganno.policy_loaders": ["mava = mava_ganno.mava.checkpoint:LOADER"],
    },
    include_package_data=True,
)
