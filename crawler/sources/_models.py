"""Hub models (Hugging Face, ModelScope): the `model.*` events and what counts as a change.

Pure. One change, one event: a commit whose visible effect is already a licence,
licence-file or gating event does not also emit `model.updated` (DESIGN.md, "What counts as
one change"). Shared by every hub source; a hub subclasses `ModelKind` with its own
`prefix`, `normalise` and URLs.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Callable, Iterable, Mapping

from crawler.diff import changed_fields, event
from crawler.licenses import direction, normalize as normalize_license
from crawler.normalize import clean
from crawler.openness import openness
from crawler.sources import Context, EventType, ItemKind

LICENSE_FIELDS = ("license", "license_name", "license_link", "license_category")
# Bookkeeping of LICENSE-file reads: kept in the state, never a change by itself.
FILE_BOOKKEEPING = frozenset({"license_etags", "license_read_sha"})


@cache
def _no_licence() -> dict[str, Any]:
    """The licence fields of an answer that names none (a card without `license`)."""
    lic = normalize_license(None)
    return {"license": lic.id, "license_name": lic.name, "license_category": lic.category}


def _ref(event_: Mapping[str, Any]) -> str:
    item = str(event_.get("item") or "")
    return item.split("/", 1)[1] if "/" in item else item


def _owner_name(event_: Mapping[str, Any]) -> tuple[str, str]:
    owner, _, name = _ref(event_).partition("/")
    return owner, name


def _licences(event_: Mapping[str, Any]) -> tuple[str, str]:
    data, before, after = event_.get("data") or {}, event_.get("before") or {}, event_.get("after") or {}
    return (str(data.get("license_before") or before.get("license") or "unknown"),
            str(data.get("license_after") or after.get("license") or "unknown"))


GATING = {"false": "open", "False": "open", "auto": "gated (auto-approved)", "manual": "gated (manual approval)"}


def _gating(value: Any) -> str:
    return GATING.get(str(value), str(value or "unknown"))


def _gate_text(value: Any) -> str:
    return {False: "not gated", "auto": "gated (automatic approval)", "manual": "gated (manual approval)"}.get(
        value, f"gated ({value})"
    )


MODEL_EVENTS = (
    EventType("model.added", "new model", "new models",
              lambda e: "{} released {}".format(*_owner_name(e)),
              help="a model appeared in an org already baselined"),
    EventType("model.updated", "model update", "model updates",
              lambda e: f"{_ref(e)} updated" + (f" ({str((e.get('after') or {}).get('sha') or '')[:7]})"
                                                if (e.get("after") or {}).get("sha") else ""),
              default=False, help="a new commit with no other visible effect (off unless subscribed)"),
    EventType("model.license_changed", "licence change", "licence changes",
              lambda e: "{} licence changed: {} → {}".format(_ref(e), *_licences(e)), licence=True,
              help="the normalised licence changed; `data.direction` says more_open / more_restrictive / lateral / unclear"),
    EventType("model.license_file_changed", "licence file change", "licence file changes",
              lambda e: f"{_ref(e)} licence file changed",
              help="a LICENSE-like file's text changed, appeared or disappeared"),
    EventType("model.gating_changed", "gating change", "gating changes",
              lambda e: f"{_ref(e)} gating changed: {_gating((e.get('before') or {}).get('gated'))} → "
                        f"{_gating((e.get('after') or {}).get('gated'))}",
              help='`gated` moved between `false`, `"auto"` and `"manual"`'),
    EventType("model.renamed", "renamed model", "renamed models",
              lambda e: f"{(e.get('before') or {}).get('id')} moved to {(e.get('after') or {}).get('id')}",
              help="the hub redirects the old id to a new one: one item, its history kept"),
    EventType("model.removed", "removed model", "removed models",
              lambda e: f"{_ref(e)} was removed",
              help="not found on 3 consecutive direct checks after complete listings (deleted or made private)"),
    EventType("model.restored", "restored model", "restored models",
              lambda e: f"{_ref(e)} is back", help="a removed model is listed again"),
)


class ModelKind(ItemKind):
    """A model repo on a hub. `web` is the hub's site, for URLs (set per crawl)."""

    name = "model"
    removable = True
    has_files = True
    counter_fields = ("downloads", "likes")

    quiet = ("tags", "license_etags", "license_read_sha")
    web_default = ""
    # A model first seen without any licence (no card, no `License`, an `expand` answer
    # without `cardData`) reads `unknown`, as one whose card names none: `license_category =
    # 'unknown'` finds it. A later answer without the field changes nothing.
    @property
    def first_sight(self) -> Mapping[str, Any]:
        return _no_licence()

    def model_id(self, key: str) -> str:
        return key.removeprefix(self.prefix)

    def key(self, model_id: str) -> str:
        # The id as the hub sent it, lone surrogates replaced: keys are SQLite text (UTF-8).
        return f"{self.prefix}{clean(model_id)}"

    def url(self, key: str, fields: Mapping[str, Any], endpoints: Mapping[str, str]) -> str | None:
        web = (endpoints.get(self.endpoint) or self.web_default).rstrip("/")
        return f"{web}/{fields.get('id') or self.model_id(key)}" if web else None

    def links(self, key: str, fields: Mapping[str, Any]) -> list[tuple[str, str, str]]:
        # A model card's `arxiv:<id>` tag is the Hub's own link to the paper.
        return [(f"paper:arxiv/{paper}", "cites_paper", f"tag arxiv:{paper}") for paper in fields.get("arxiv") or ()]

    def openness(self, fields: Mapping[str, Any],
                 code: Iterable[Mapping[str, Any]] = ()) -> tuple[str, list[str]]:
        return openness(fields, code)

    def merge_files(self, fields: dict[str, Any], files: Mapping[str, Mapping[str, Any]] | None,
                    previous: Mapping[str, Any] | None, keep: Callable[[str], str]) -> list[str]:
        """Merge fetched LICENSE-like files into the last known hashes and ETags (a hub whose
        files are not read, `has_files = False`: nothing).

        `license_read_sha` is the commit at which every file was read (or known unreadable
        because the repo is gated); a transient error keeps the old one, so the next crawl
        fetches again instead of losing the change. A file that could not be read keeps its
        last hash: gating is its own event, an error is not a change. A file the repo no
        longer lists is gone, gated or not (file lists stay visible).
        """
        if not self.has_files:
            return []
        prev = previous or {}
        prev_files = dict(prev.get("license_files") or {})
        prev_etags = dict(prev.get("license_etags") or {})
        prev_read = prev.get("license_read_sha", prev.get("sha"))
        if files is None:
            fields.update(license_files=prev_files, license_etags=prev_etags, license_read_sha=prev_read)
            return []
        kept, etags, errors = {}, {}, []
        for name, got in sorted(files.items()):
            status = got.get("status")
            if status == "ok":
                kept[name], etags[name] = keep(got.get("text") or ""), got.get("etag")
            elif name in prev_files:
                kept[name], etags[name] = prev_files[name], prev_etags.get(name)
            if status == "error":
                errors.append(f"{fields.get('id')}/{name}: {got.get('error')}")
        fields.update(license_files=kept, license_etags=etags,
                      license_read_sha=prev_read if errors else fields.get("sha"))
        return errors

    def before_diff(self, previous: Mapping[str, Any], fields: Mapping[str, Any]) -> Mapping[str, Any]:
        return readable_before(previous, fields)

    def text_changes(self, event: Mapping[str, Any]) -> tuple[Mapping[str, str], Mapping[str, str]] | None:
        if not event["type"].endswith("license_file_changed"):
            return None
        return ((event.get("before") or {}).get("license_files") or {},
                (event.get("after") or {}).get("license_files") or {})

    def columns(self, key: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        gated = fields.get("gated")
        return {"name": fields.get("id"), "license": fields.get("license"),
                "license_category": fields.get("license_category"),
                "gated": None if gated is None else str(gated).lower(), "sha": fields.get("sha")}

    @staticmethod
    def _data(ctx: Context, after: Mapping[str, Any]) -> dict[str, Any]:
        return {"license": after.get("license"), "category": after.get("license_category"),
                "parameters": after.get("parameters")}

    def added(self, ctx: Context, after: Mapping[str, Any]) -> list[dict]:
        return [event(
            ctx, "model.added",
            f"{after.get('org')} released {after.get('name')} ({after.get('license')}, {after.get('license_category')})",
            after={k: after.get(k) for k in ("license", "license_category", "gated", "sha", "pipeline_tag",
                                             "created_at", "parameters")},
            data=self._data(ctx, after) | {"arxiv": list(after.get("arxiv") or ())},
        )]

    def changed(self, ctx: Context, before: Mapping[str, Any], after: Mapping[str, Any]) -> list[dict]:
        events = []
        changed = set(changed_fields(before, after, FILE_BOOKKEEPING))
        model_id = after.get("id")

        if changed & set(LICENSE_FIELDS):  # a new license_link alone is new terms too
            cat_before, cat_after = before.get("license_category"), after.get("license_category")
            move = direction(cat_before, cat_after)
            fields = [f for f in LICENSE_FIELDS if f in changed]
            events.append(event(
                ctx, "model.license_changed",
                f"{model_id} licence changed: {before.get('license')} → {after.get('license')} ({move.replace('_', ' ')})",
                before={f: before.get(f) for f in fields}, after={f: after.get(f) for f in fields},
                data=self._data(ctx, after) | {
                    "license_before": before.get("license"), "license_after": after.get("license"),
                    "category_before": cat_before, "category_after": cat_after, "direction": move},
            ))

        if "license_files" in changed:
            files_before = before.get("license_files") or {}
            files_after = after.get("license_files") or {}
            names = sorted(n for n in set(files_before) | set(files_after) if files_before.get(n) != files_after.get(n))
            events.append(event(
                ctx, "model.license_file_changed", f"{model_id} changed {', '.join(names)}",
                before={"license_files": {n: files_before.get(n) for n in names}},
                after={"license_files": {n: files_after.get(n) for n in names}},
                data=self._data(ctx, after) | {"files": names},
            ))

        if "gated" in changed:
            events.append(event(
                ctx, "model.gating_changed",
                f"{model_id} is now {_gate_text(after.get('gated'))} (was {_gate_text(before.get('gated'))})",
                before={"gated": before.get("gated")}, after={"gated": after.get("gated")},
                data=self._data(ctx, after),
            ))

        if not events and "sha" in changed:
            short = (after.get("sha") or "")[:7]
            events.append(event(
                ctx, "model.updated", f"{model_id} has a new commit {short}",
                before={"sha": before.get("sha"), "last_modified": before.get("last_modified")},
                after={"sha": after.get("sha"), "last_modified": after.get("last_modified")},
                data=self._data(ctx, after) | {"changed": sorted(changed)},
            ))
        return events

    def removed(self, ctx: Context, last: Mapping[str, Any], detail: str) -> list[dict]:
        return [event(
            ctx, "model.removed", f"{last.get('id')} was removed or made private ({detail})",
            before={"state": "active"}, after={"state": "removed"},
            data=self._data(ctx, last) | {"reason": detail}, tag=":removed",
        )]

    def restored(self, ctx: Context, after: Mapping[str, Any]) -> list[dict]:
        return [event(
            ctx, "model.restored", f"{after.get('id')} is back ({after.get('license')})",
            before={"state": "removed"}, after={"state": "active"},
            data=self._data(ctx, after), tag=":restored",
        )]

    def renamed(self, ctx: Context, old_key: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> list[dict]:
        old_id, new_id = before.get("id") or self.model_id(old_key), after.get("id")
        return [event(
            ctx, "model.renamed", f"{old_id} moved to {new_id}",
            before={"id": old_id}, after={"id": new_id},
            data=self._data(ctx, after) | {"previous_key": old_key}, tag=f":renamed:{old_key}",
        )]


def readable_before(previous: Mapping[str, Any], fields: Mapping[str, Any]) -> Mapping[str, Any]:
    """LICENSE files of a gated repo could not be read: one that first becomes readable is
    recorded, not reported as a licence-file change (the gating event said it)."""
    if not previous.get("gated"):
        return previous
    files = dict(previous.get("license_files") or {})
    for name, digest in (fields.get("license_files") or {}).items():
        files.setdefault(name, digest)
    return previous | {"license_files": files}
