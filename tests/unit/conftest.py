"""Fixtures shared by unit tests that need a database of their own (committed data)."""
from ..concurrency.support import own_database  # noqa: F401
from ..script_support import script_database  # noqa: F401
