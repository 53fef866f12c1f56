"""What every table definition shares: its name is the stage's prefix + its base name, read when the
table is first used (never at import)."""
from __future__ import annotations

from chalicelib.config import settings


class LazyTableName(type):
    """Metaclass of each Meta: `table_name` is the stage's prefix + the table's base name."""

    @property
    def table_name(cls) -> str:
        return settings().table_prefix + cls.base_name
