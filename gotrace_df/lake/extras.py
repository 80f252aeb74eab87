"""The optional packages the lake needs, imported with a message naming the extra."""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["require"]

#: How to install what the lake needs.
INSTALL = "pip install 'gotrace_df[lake]'"


def require(module: str) -> ModuleType:
    """``module`` imported, or an ImportError saying to install the ``lake`` extra."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise ImportError(
            f"gotrace_df.lake needs {module.split('.')[0]}, part of the 'lake' extra: {INSTALL}"
        ) from e
