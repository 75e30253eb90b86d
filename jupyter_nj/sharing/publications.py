"""Publications: a notebook version at a permanent URL, `/nj/p/<owner>/<slug>/<n>`.

A publication is a folder of immutable editions (`<publish dir>/<owner>/<slug>/<n>/`), each
written once, whole, and never changed: the notebook as published, its page rendered at publish
time, its results folder as a zip, the lock of every environment it is pinned to, and
`edition.json` (who, when, which version, which environments, what a re-run reproduced).
Publishing again makes `<n+1>`; `/nj/p/<owner>/<slug>` answers with the newest edition still
published. Unpublishing deletes an edition's content and leaves `tombstone.json`, so its URL
answers 410 ("unpublished") for ever, and its number is never used again.

The store is a plain folder on purpose: the server that publishes and whatever serves the
pages (this server, or one process that outlives single-user servers under JupyterHub) need
nothing but the folder. Every read checks the tombstone, so an edition unpublished by one
process is gone from another's cache at its next request. Blocking file I/O: call the
`Publications` methods from a thread.
"""

from __future__ import annotations

import fcntl
import hashlib
import html
import json
import os
import re
import shutil
import tempfile
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from ..base import NJError

PUBLISH_PREFIX = "/nj/p/"
EDITION_FILE = "edition.json"
TOMBSTONE_FILE = "tombstone.json"
PAGE_FILE = "page.html"
NOTEBOOK_FILE = "notebook.ipynb"
RESULTS_FILE = "results.zip"
# What an edition's downloads may be called (anything else under an edition is not served).
LOCK_FILE = re.compile(r"environment-[a-z0-9_-]{1,40}\.lock")
DOWNLOADS = {NOTEBOOK_FILE, RESULTS_FILE}

SLUG_PATTERN = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")
MAX_SLUG = 64


def slugify(title: str) -> str:
    """A slug from a title: lower-case ASCII letters, digits and single hyphens."""
    text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    slug = slug[:MAX_SLUG].rstrip("-")
    return slug or "notebook"


def check_slug(slug: str) -> str:
    if not isinstance(slug, str) or not SLUG_PATTERN.fullmatch(slug):
        raise NJError(
            400,
            "bad-slug",
            f"The slug {slug!r} is not usable in a URL: use 1 to {MAX_SLUG} lower-case letters, "
            "digits and hyphens (not at either end), for example 'weather-2026'.",
        )
    return slug


def title_of(notebook: dict[str, Any], path: str) -> str:
    """The notebook's title: `metadata.title`, else its first Markdown heading, else its name."""
    title = (notebook.get("metadata") or {}).get("title")
    if isinstance(title, str) and title.strip():
        return title.strip()
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "markdown":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        for line in source.splitlines():
            match = re.match(r"\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", line)
            if match:
                return match.group(1)
    stem = os.path.splitext(os.path.basename(path))[0]
    return stem or "notebook"


def owner_folder(owner: str) -> str:
    """An owner's folder name: the user name percent-encoded (hub names may hold '@' or '.')."""
    if not owner or owner in {".", ".."}:
        raise NJError(400, "bad-owner", "A publication needs an owner's user name.")
    return quote(owner, safe="")


def iso(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, tz=timezone.utc).isoformat(timespec="seconds")


@dataclass
class Edition:
    """One published edition, as `edition.json` records it."""

    owner: str
    slug: str
    number: int
    title: str
    source_path: str
    version: str
    published: float
    author: str
    source_file_id: str | None = None
    version_created: str | None = None
    environments: list[dict[str, Any]] = field(default_factory=list)
    results: list[dict[str, Any]] = field(default_factory=list)
    rerun: dict[str, Any] | None = None
    notebook_sha256: str = ""
    unpublished: float | None = None

    @property
    def url(self) -> str:
        return f"{PUBLISH_PREFIX}{quote(self.owner, safe='')}/{self.slug}/{self.number}"

    @property
    def latest_url(self) -> str:
        return f"{PUBLISH_PREFIX}{quote(self.owner, safe='')}/{self.slug}"

    @property
    def state(self) -> str:
        return "unpublished" if self.unpublished is not None else "published"

    def to_json(self) -> dict[str, Any]:
        """What the REST API and the command line show."""
        return {
            "owner": self.owner,
            "slug": self.slug,
            "number": self.number,
            "title": self.title,
            "url": self.url,
            "latest": self.latest_url,
            "path": self.source_path,
            "version": self.version,
            "published": iso(self.published),
            "author": self.author,
            "state": self.state,
            "unpublished": iso(self.unpublished) if self.unpublished is not None else None,
            "environments": [
                {k: v for k, v in env.items() if k != "lock_text"} for env in self.environments
            ],
            "results": len(self.results),
            "rerun": self.rerun,
        }


@contextmanager
def folder_lock(folder: Path, mode: int | None = None) -> Iterator[Path]:
    """`folder` (made if needed, then given `mode`), held against other processes: an exclusive
    flock on its `.lock` for the length of the block."""
    folder.mkdir(parents=True, exist_ok=True)
    if mode is not None:
        folder.chmod(mode)
    with open(folder / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield folder
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


class Publications:
    """The publication store: one folder per owner and slug, one folder per edition."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def folder(self, owner: str, slug: str) -> Path:
        return self.root / owner_folder(owner) / check_slug(slug)

    @contextmanager
    def _locked(self, owner: str, slug: str) -> Iterator[Path]:
        """The publication's folder, held against other publishers (numbers are handed out
        under this lock, across processes)."""
        with folder_lock(self.folder(owner, slug)) as folder:
            yield folder

    # -- publishing --------------------------------------------------------------------------

    @contextmanager
    def new_edition(self, owner: str, slug: str, source: dict[str, Any]) -> Iterator[_Draft]:
        """A draft of the next edition of `owner/slug`, written to a folder of its own and
        moved into place whole when the block ends without error (nothing otherwise).

        409 when the slug already names a publication of another notebook of the owner's.
        """
        with self._locked(owner, slug) as folder:
            claim = folder / "publication.json"
            if claim.exists():
                claimed = json.loads(claim.read_text(encoding="utf-8"))
                if not _same_source(claimed, source):
                    raise NJError(
                        409,
                        "slug-taken",
                        f"The slug {slug!r} already names your publication of "
                        f"{claimed.get('path')!r}: choose another slug for this notebook.",
                    )
            numbers = [int(p.name) for p in folder.iterdir() if p.name.isdigit()]
            number = max(numbers, default=0) + 1
            staging = Path(tempfile.mkdtemp(dir=folder, prefix=".incoming-"))
            try:
                draft = _Draft(number, staging)
                yield draft
                os.rename(staging, folder / str(number))
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
            # The slug follows its notebook by file id (a moved notebook keeps publishing here).
            record = {**source, "created": source.get("created", time.time())}
            if claim.exists():
                record = {**json.loads(claim.read_text(encoding="utf-8")), **source}
            _write_json(claim, record)

    # -- reading ------------------------------------------------------------------------------

    def edition(self, owner: str, slug: str, number: int) -> Edition:
        """An edition, tombstoned ones included: 404 for one that never was."""
        folder = self.folder(owner, slug) / str(number)
        try:
            data = json.loads((folder / EDITION_FILE).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise NJError(
                404, "unknown-publication", f"There is no publication {owner}/{slug}/{number}."
            ) from None
        known = set(Edition.__dataclass_fields__)
        edition = Edition(**{k: v for k, v in data.items() if k in known})
        tombstone = folder / TOMBSTONE_FILE
        if tombstone.exists():
            edition.unpublished = float(
                json.loads(tombstone.read_text(encoding="utf-8")).get("at", 0)
            )
        return edition

    def is_tombstoned(self, owner: str, slug: str, number: int) -> bool:
        return (self.folder(owner, slug) / str(number) / TOMBSTONE_FILE).exists()

    def numbers(self, owner: str, slug: str) -> list[int]:
        folder = self.folder(owner, slug)
        if not folder.is_dir():
            return []
        return sorted(int(p.name) for p in folder.iterdir() if p.name.isdigit())

    def latest(self, owner: str, slug: str) -> Edition:
        """The newest edition still published: 404 if none ever was, 410 if all are gone."""
        numbers = self.numbers(owner, slug)
        if not numbers:
            raise NJError(404, "unknown-publication", f"There is no publication {owner}/{slug}.")
        for number in reversed(numbers):
            if not self.is_tombstoned(owner, slug, number):
                return self.edition(owner, slug, number)
        raise NJError(410, "unpublished", f"{owner}/{slug} was unpublished.")

    def find(self, owner: str | None = None, path: str | None = None) -> list[Edition]:
        """Every edition (newest first), of one owner's and one notebook's when given."""
        found: list[Edition] = []
        if not self.root.is_dir():
            return found
        owners = [owner_folder(owner)] if owner else sorted(os.listdir(self.root))
        for name in owners:
            owner_dir = self.root / name
            if name.startswith(".") or not owner_dir.is_dir():
                continue
            for slug_dir in sorted(owner_dir.iterdir()):
                if not SLUG_PATTERN.fullmatch(slug_dir.name) or not slug_dir.is_dir():
                    continue
                for number in self.numbers(unquote(name), slug_dir.name):
                    edition = self.edition(unquote(name), slug_dir.name, number)
                    if path is None or edition.source_path == path:
                        found.append(edition)
        return sorted(found, key=lambda e: e.published, reverse=True)

    def file(self, edition: Edition, name: str) -> Path:
        return self.folder(edition.owner, edition.slug) / str(edition.number) / name

    # -- unpublishing -------------------------------------------------------------------------

    def unpublish(self, owner: str, slug: str, number: int | None = None) -> list[Edition]:
        """Tombstone one edition, or every edition of the publication: their content is
        deleted, their URLs answer 410. Unpublishing one already gone is not an error."""
        with self._locked(owner, slug):
            numbers = [number] if number is not None else self.numbers(owner, slug)
            if not numbers:
                raise NJError(
                    404, "unknown-publication", f"There is no publication {owner}/{slug}."
                )
            ended = []
            for n in numbers:
                edition = self.edition(owner, slug, n)  # 404 for an unknown number
                folder = self.folder(owner, slug) / str(n)
                if edition.unpublished is None:
                    now = time.time()
                    _write_json(folder / TOMBSTONE_FILE, {"at": now})
                    edition.unpublished = now
                for child in folder.iterdir():
                    if child.name not in {EDITION_FILE, TOMBSTONE_FILE}:
                        child.unlink(missing_ok=True)
                ended.append(edition)
            return ended


class _Draft:
    """The edition being written (see `Publications.new_edition`)."""

    def __init__(self, number: int, folder: Path) -> None:
        self.number = number
        self.folder = folder

    def write(self, name: str, data: bytes | str) -> None:
        payload = data.encode("utf-8") if isinstance(data, str) else data
        (self.folder / name).write_bytes(payload)

    def finish(self, edition: Edition) -> None:
        _write_json(self.folder / EDITION_FILE, asdict(edition))


def _same_source(claimed: dict[str, Any], source: dict[str, Any]) -> bool:
    if claimed.get("file_id") and source.get("file_id"):
        return bool(claimed["file_id"] == source["file_id"])
    return bool(claimed.get("path") == source.get("path"))


def _write_json(path: Path, data: Any) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(data, out, indent=1, sort_keys=True)
    os.replace(tmp, path)


# -- the page -----------------------------------------------------------------------------------

# The badge a re-run puts on each code cell (nbconvert's lab template gives each cell its tags as
# `celltag_<tag>` classes).
RERUN_STYLE = """<style>
.celltag_nj-reproduced::before, .celltag_nj-differed::before {
  display: block; font: 11px system-ui, sans-serif; padding: 2px 8px; margin: 0 0 2px 0; }
.celltag_nj-reproduced::before { content: "reproduced exactly";
  color: #1b5e20; background: #e8f5e9; }
.celltag_nj-differed::before { content: "output differed on re-run";
  color: #8a4b00; background: #fff3e0; }
.jp-nj-Published a { color: #0b57d0; }
.jp-nj-Published code { background: #f1f3f4; padding: 0 3px; }
</style>"""


def page_header(edition: Edition, editions: list[int], remix_url: str = "") -> str:
    """The strip above a published page: what, by whom, when, on which environments, the
    downloads, Remix, and the other editions. Links are relative to the edition's URL, but
    Remix's where `remix_url` (`{owner}`, `{slug}`, `{number}`) names another server."""
    n = edition.number
    esc = html.escape
    when = iso(edition.published).replace("T", " ").replace("+00:00", " UTC")
    rows = [
        f"<div style='font-size:20px;font-weight:600'>{esc(edition.title)}</div>",
        (
            f"<div>Published by <strong>{esc(edition.author)}</strong> on {esc(when)} · "
            f"edition {n} · version <code>{esc(edition.version[:12])}</code> of "
            f"<code>{esc(os.path.basename(edition.source_path))}</code></div>"
        ),
    ]
    for env in edition.environments:
        lock = env.get("lock_file")
        how = (
            f"get it with <code>jupyter nj env import</code> on an export of "
            f"<code>{esc(env['name'])}@{esc(env['version'])}</code> "
            f"(<code>jupyter nj env export</code>)"
        )
        if lock:
            how += f", or rebuild it from its <a href='{n}/{esc(lock)}' download>lock</a>"
        rows.append(
            f"<div>Runtime <strong>{esc(env['slot'])}</strong>: environment "
            f"<code>{esc(env['name'])}</code> @ <code>{esc(env.get('short') or '')}</code> "
            f"({esc(env.get('backend') or '')}"
            + (f", image <code>{esc(env['image'])}</code>" if env.get("image") else "")
            + f"); {how}</div>"
        )
    if edition.rerun:
        rerun = edition.rerun
        digests = ", ".join(
            f"{esc(env['slot'])} <code>{esc(str(env.get('version', ''))[:19])}</code>"
            for env in edition.environments
        )
        rows.append(
            f"<div>Re-run before publishing: <strong>{rerun['reproduced']} of "
            f"{rerun['cells']}</strong> code cells reproduced their outputs exactly"
            + (f", {rerun['differed']} differed" if rerun["differed"] else "")
            + (f" (the run failed: {esc(rerun['error'])})" if rerun.get("error") else "")
            + (f"; ran on {digests}" if digests else "")
            + "</div>"
        )
    downloads = [f"<a href='{n}/{NOTEBOOK_FILE}' download>notebook (.ipynb)</a>"]
    if edition.results:
        downloads.append(
            f"<a href='{n}/{RESULTS_FILE}' download>results ({len(edition.results)} files)</a>"
        )
    remix = (
        remix_url.format(
            owner=quote(edition.owner, safe=""), slug=edition.slug, number=edition.number
        )
        if remix_url
        else f"{n}/remix"
    )
    downloads.append(f"<a href='{esc(remix)}'>Remix</a> (with your own login)")
    others = [
        f"<a href='{m}'>{m}</a>" if m != n else f"<strong>{m}</strong>" for m in editions[-10:]
    ]
    downloads.append("editions: " + " ".join(others))
    rows.append("<div>" + " · ".join(downloads) + "</div>")
    return (
        "<div class='jp-nj-Published' style='font: 13px system-ui, sans-serif; padding: 10px "
        "16px; background: #f3f6fb; border-bottom: 1px solid #c9d6ea; color: #1f2d3d; "
        "line-height: 1.6'>" + "".join(rows) + "</div>"
    )


def gone_message(edition: Edition) -> str:
    return f"{edition.owner}/{edition.slug}/{edition.number} was unpublished by its author."


def notebook_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class PageCache:
    """Rendered pages of immutable editions, a few hundred at a time (pages are written once,
    so a cached page is never stale; a tombstone is checked on every request)."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._pages: OrderedDict[tuple[str, str, int], tuple[bytes, str]] = OrderedDict()

    def get(self, key: tuple[str, str, int]) -> tuple[bytes, str] | None:
        page = self._pages.get(key)
        if page is not None:
            self._pages.move_to_end(key)
        return page

    def put(self, key: tuple[str, str, int], page: bytes) -> tuple[bytes, str]:
        entry = (page, hashlib.sha256(page).hexdigest()[:32])
        self._pages[key] = entry
        while len(self._pages) > self.size:
            self._pages.popitem(last=False)
        return entry
