"""Every use of OmegaConf beyond its public API, in one place, with why.

Checking a config's keys must look at each child node without resolving it: reading
`cfg[key]` resolves interpolations (`${...}`) and raises on a mandatory value left `???`, which
the key check is not about. OmegaConf's public API has no such read; its node accessor is
private and may change in any release, so pyproject.toml pins omegaconf to the version this was
written against (2.3.1): check it when raising the pin (tests/test_config.py exercises it).
"""

from __future__ import annotations

from omegaconf import DictConfig


def child_node(node: DictConfig, key: str):
    """The node under `key`, unresolved (a DictConfig for a nested mapping)."""
    return node._get_node(key)
