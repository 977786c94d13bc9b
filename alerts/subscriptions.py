"""Which subscriptions hear about which events. Pure: a subscription and an event in, a bool out.

A filter left out of the config (`None`) does not filter. Filters narrow the *items* a
subscription hears about, so `source.failing` / `source.recovered` (about a watch, with no
org, country or licence) are filtered by `watches` only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Mapping

if TYPE_CHECKING:  # jobs.config may import the channel registry: no import cycle at runtime
    from alerts.types import Subscription

SOURCE_EVENTS = frozenset({"source.failing", "source.recovered"})


def _folded(values: Iterable[str] | None) -> frozenset[str] | None:
    return None if values is None else frozenset(str(v).casefold() for v in values)


def _categories(event: Mapping[str, Any]) -> set[str]:
    data = event.get("data") or {}
    found = set()
    for key in ("category_after", "category_before", "category"):
        value = data.get(key)
        if value:
            found.add(str(value).casefold())
    return found


def matches(sub: "Subscription", event: Mapping[str, Any]) -> bool:
    """Does `event` (the public event dict) go to `sub`? Disabled subscriptions match nothing."""
    if not sub.enabled or event.get("type") not in sub.events:
        return False
    watches = sub.watches
    # An org covered by several watches: the event belongs to each of them, whichever crawled it.
    covering = set((event.get("data") or {}).get("watches") or ()) | {event.get("watch")}
    if watches is not None and not covering & set(watches):
        return False
    if event.get("type") in SOURCE_EVENTS:
        return True
    data = event.get("data") or {}
    orgs = _folded(sub.orgs)
    if orgs is not None and str(data.get("org") or "").casefold() not in orgs:
        return False
    countries = _folded(sub.countries)
    if countries is not None and str(data.get("country") or "").casefold() not in countries:
        return False
    categories = _folded(sub.categories)
    if categories is not None and not (categories & _categories(event)):
        return False
    models = _folded(sub.models)
    if models is not None:
        # A renamed item's events carry its old keys: a subscription naming one keeps matching.
        keys = {str(event.get("item") or "")} | set(map(str, data.get("aliases") or ()))
        if not {k.casefold() for k in keys} & models:
            return False
    return True


def matching(subscriptions: Iterable["Subscription"], event: Mapping[str, Any]) -> list["Subscription"]:
    """The subscriptions `event` goes to, in config order."""
    return [sub for sub in subscriptions if matches(sub, event)]
