"""The generated TypedDicts of every action's input and result, and the ActionResponse shape."""

from ._generated import *  # noqa: F403 (the generated module's __all__ is exactly its types and metadata)
from ._generated import __all__  # noqa: F401
