"""`Secret`: a credential that never shows itself in `repr()`, `str()`, logs or dumps.

Webhook URLs with tokens, routing keys, passwords and API tokens are held as `Secret`s from the
moment they are read. Only `reveal()` gives the value, and only adapters that send something
should call it. A secret read from a `*_file` remembers the file so a dump can say where it
came from (the value is read when the configuration loads; a reload re-reads it).
"""

from __future__ import annotations

from typing import Final, final

__all__ = ["MASK", "Secret"]

MASK: Final = "<secret>"


@final
class Secret:
    """An immutable secret string. Equal secrets compare equal; nothing prints the value."""

    __slots__ = ("_value", "file")

    _value: str
    file: str | None

    def __init__(self, value: str, *, file: str | None = None) -> None:
        object.__setattr__(self, "_value", value)
        object.__setattr__(self, "file", file)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Secret is immutable")

    def reveal(self) -> str:
        """The secret value itself. Call only where it is sent to its destination."""
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Secret):
            return self._value == other._value
        return NotImplemented

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __repr__(self) -> str:
        return f"Secret({MASK!r}, file={self.file!r})" if self.file else f"Secret({MASK!r})"

    def __str__(self) -> str:
        return MASK

    def __format__(self, spec: str) -> str:
        return format(MASK, spec)

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a Secret is not picklable: keep credentials out of stored state")
