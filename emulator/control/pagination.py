"""NextToken for every List* call: opaque, and stable while other requests write.

A token holds the sort key of the last item a page returned (and the order it was sorted in), not an
offset: the next page starts after that key in the listing as it is then. An item created or deleted between
two pages moves no other item, so a traversal neither repeats nor skips an item that existed throughout.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Callable, Sequence, TypeVar

from emulator.control.errors import ValidationException

Item = TypeVar("Item")
SortKey = tuple[Any, ...]  # JSON scalars only: a token carries it as JSON


def page(items: Sequence[Item], sort_key: Callable[[Item], SortKey], *, token: str | None, size: int,
         descending: bool = False, order: str = "") -> tuple[list[Item], str | None]:
    """The page of `items` after `token`, sorted by `sort_key` (unique per item), and the token of the next
    page (None when none follows). `order` names the sort: a token made for another sort is refused."""
    ordered = sorted(items, key=sort_key, reverse=descending)
    if token is not None:
        after = _decode(token, order)
        try:
            ordered = [item for item in ordered if (sort_key(item) < after if descending else sort_key(item) > after)]
        except TypeError:  # a forged token whose key is not of this listing's types
            raise _invalid() from None
    chosen = ordered[:size]
    more = len(ordered) > size
    return chosen, (_encode(order, sort_key(chosen[-1])) if more else None)


def _encode(order: str, key: SortKey) -> str:
    return base64.urlsafe_b64encode(json.dumps([order, *key]).encode()).decode()


def _decode(token: str, order: str) -> SortKey:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token.encode("ascii", "strict")), parse_constant=_refuse)
    except (ValueError, UnicodeError, binascii.Error, RecursionError):
        decoded = None
    if not (isinstance(decoded, list) and len(decoded) > 1 and decoded[0] == order
            and all(isinstance(part, (str, int, float)) and not isinstance(part, bool) for part in decoded[1:])):
        raise _invalid()
    return tuple(decoded[1:])


def _invalid() -> ValidationException:
    return ValidationException("Invalid pagination token: pass the NextToken of the previous answer unchanged, "
                               "with the same SortBy and SortOrder.")


def _refuse(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")
