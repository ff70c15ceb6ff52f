"""``async with`` for everything that is closed with ``aclose()``."""

from __future__ import annotations

import abc
from types import TracebackType
from typing import Self

__all__ = ["AsyncCloseable"]


class AsyncCloseable(abc.ABC):
    """Entering gives the object itself; leaving the block (however it is left) awaits
    :meth:`aclose`. Subclasses that open something on entering override
    ``__aenter__``."""

    __slots__ = ()

    @abc.abstractmethod
    async def aclose(self) -> None:
        """Release what the object holds; calling it again does nothing."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
