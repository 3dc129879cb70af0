"""The concurrency tests each get a database of their own."""
from .support import own_database  # noqa: F401
