"""PublishingService: publish a notebook version, list and unpublish publications, serve their
pages and downloads (publications.py keeps the store).

It meets the other pillars only through the callables app.py hands it: history's `snapshot`
(a version, its notebook and its results zip), the runtimes pillar's `describe_environment`
(a pinned version's record and lock), secrets' `contains_secret` (fail closed on a live value)
and compute's `rerun` (the version executed headless on its pinned runtimes).
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import json
import logging
import re
import shutil
import tempfile
import time
import zipfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from ..base import NJError
from .publications import (
    DOWNLOADS,
    LOCK_FILE,
    NOTEBOOK_FILE,
    PAGE_FILE,
    RERUN_STYLE,
    RESULTS_FILE,
    Edition,
    PageCache,
    Publications,
    check_slug,
    gone_message,
    notebook_digest,
    page_header,
    slugify,
    title_of,
)

log = logging.getLogger(__name__)

# (API path, version id or "current", results zip to write) -> history's snapshot.
Snapshot = Callable[[str, str, Path], Awaitable[dict[str, Any]]]
# (environment name, version id) -> {"version", "backend", "image", "lock_text", ...} or None.
DescribeEnvironment = Callable[[str, str], dict[str, Any] | None]
# (API path, notebook) -> {"notebook": executed headless on its pinned runtimes (up to the
# cell that failed), "error": why the run failed or None}.
Rerun = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]

REPRODUCED_TAG = "nj-reproduced"
DIFFERED_TAG = "nj-differed"


class PublishingService:
    def __init__(
        self,
        store: Publications,
        snapshot: Snapshot,
        *,
        describe_environment: DescribeEnvironment | None = None,
        contains_secret: Callable[[Any], bool] | None = None,
        rerun: Rerun | None = None,
        render_timeout: float = 60.0,
        max_size: int = 50 * 1024 * 1024,
        remix_url: str = "",
    ) -> None:
        self.store = store
        self.snapshot = snapshot
        self.describe_environment = describe_environment
        self.contains_secret = contains_secret
        self.rerun = rerun
        self.render_timeout = render_timeout
        self.max_size = max_size
        # Where a page's Remix goes (`NJApp.publish_remix_url`); "": this server's remix page.
        self.remix_url = remix_url
        self.pages = PageCache()

    # -- publishing ---------------------------------------------------------------------------

    async def publish(
        self,
        path: str,
        owner: str,
        *,
        author: str | None = None,
        version: str = "current",
        slug: str | None = None,
        rerun: bool = False,
        include_results: bool = True,
    ) -> dict[str, Any]:
        """Publish `path` at `version` as the next edition of `owner/slug` (the slug defaults
        to one made from the notebook's title).

        404 unknown notebook or version; 400 a bad slug or a version that is not a notebook;
        409 the slug names another notebook's publication, or the content still holds a live
        secret value; 413 over `max_size`; 503 re-run asked where runs are off. Nothing is
        published when any of them is answered.
        """
        if slug is not None:
            check_slug(slug)
        if rerun and self.rerun is None:
            raise NJError(
                503, "runs-unavailable", "Re-running before publishing needs headless runs here."
            )
        incoming = Path(tempfile.mkdtemp(prefix="nj-publish-"))
        try:
            zip_path = incoming / RESULTS_FILE
            snap = await self.snapshot(path, version, zip_path)
            notebook = snap["notebook"]
            data = json.dumps(notebook, ensure_ascii=False, indent=1).encode("utf-8")
            if len(data) > self.max_size:
                raise NJError(
                    413,
                    "too-large",
                    f"This version is {len(data)} bytes, over the {self.max_size} a publication "
                    "may hold (NJApp.publish_max_size).",
                )
            if self.contains_secret is not None:
                held = await asyncio.to_thread(self.contains_secret, notebook)
                if held:
                    raise NJError(
                        409,
                        "holds-secret",
                        "This version still holds the value of a secret a runtime received, so "
                        "it is not published. Clear the outputs that show it, save, and publish "
                        "the new version.",
                    )
            results = snap.get("results", []) if include_results else []
            results_zip = zip_path if results and zip_path.exists() else None
            if (
                results_zip is not None
                and self.contains_secret is not None
                and await asyncio.to_thread(_archive_holds, results_zip, self.contains_secret)
            ):
                raise NJError(
                    409,
                    "results-hold-secret",
                    "A file in this version's results folder holds the value of a secret a "
                    "runtime received, so it is not published. Remove the value from the "
                    "results and save, or publish without the results.",
                )
            title = title_of(notebook, snap["path"])
            chosen = slug or slugify(title)
            environments = await asyncio.to_thread(self._environments, notebook)
            rendered_source = notebook
            rerun_report = None
            if rerun:
                assert self.rerun is not None
                rendered_source, rerun_report = await self._rerun(snap["path"], notebook)
            # Everything but its number, which the store gives under the publication's lock.
            unnumbered = Edition(
                owner=owner,
                slug=chosen,
                number=0,
                title=title,
                source_path=snap["path"],
                source_file_id=snap.get("file_id"),
                version=snap["version"]["id"],
                version_created=snap["version"].get("created"),
                published=0.0,
                author=author or owner,
                environments=[
                    {k: v for k, v in env.items() if k != "lock_text"} for env in environments
                ],
                results=results,
                rerun=rerun_report,
                notebook_sha256=notebook_digest(data),
            )
            locks = {
                env["lock_file"]: env["lock_text"]
                for env in environments
                if env.get("lock_text") and env.get("lock_file")
            }
            edition = await asyncio.to_thread(
                self._write, unnumbered, rendered_source, data, locks, results_zip
            )
        finally:
            shutil.rmtree(incoming, ignore_errors=True)
        return edition.to_json()

    def _write(
        self,
        unnumbered: Edition,
        rendered_source: dict[str, Any],
        data: bytes,
        locks: dict[str, str],
        results_zip: Path | None,
    ) -> Edition:
        """Blocking: number, render and write the edition under the publication's lock (its
        number is on the page). `rendered_source` is what the page shows (the re-run's
        notebook where there was one), `data` the notebook a reader downloads, `locks` the
        environments' lock files by name."""
        from .render import render_notebook_html

        source = {"path": unnumbered.source_path, "file_id": unnumbered.source_file_id}
        owner, slug = unnumbered.owner, unnumbered.slug
        with self.store.new_edition(owner, slug, source) as draft:
            edition = dataclasses.replace(unnumbered, number=draft.number, published=time.time())
            numbers = [*self.store.numbers(owner, slug), draft.number]
            header = page_header(edition, numbers, self.remix_url)
            page = _render_with_limit(
                render_notebook_html, rendered_source, header, RERUN_STYLE, self.render_timeout
            )
            draft.write(PAGE_FILE, page)
            draft.write(NOTEBOOK_FILE, data)
            for name, text in locks.items():
                draft.write(name, text)
            if results_zip is not None:
                shutil.copyfile(results_zip, draft.folder / RESULTS_FILE)
            draft.finish(edition)
        return edition

    def _environments(self, notebook: dict[str, Any]) -> list[dict[str, Any]]:
        """Every runtime the notebook is pinned to, with what a reader needs to get it."""
        runtimes = ((notebook.get("metadata") or {}).get("nj") or {}).get("runtimes")
        if not isinstance(runtimes, dict):
            return []
        found = []
        for slot, pin in sorted(runtimes.items()):
            if not isinstance(pin, dict) or not isinstance(pin.get("environment"), str):
                continue
            env: dict[str, Any] = {
                "slot": str(slot),
                "name": pin["environment"],
                "version": str(pin.get("version", "")),
                "backend": str(pin.get("backend", "")),
            }
            record = None
            if self.describe_environment is not None and env["version"]:
                try:
                    record = self.describe_environment(env["name"], env["version"])
                except NJError:
                    record = None  # built elsewhere: the page names the pin only
            if record:
                env.update({k: v for k, v in record.items() if k not in {"slot", "name"}})
                if record.get("lock_text") and LOCK_FILE.fullmatch(
                    f"environment-{_safe(env['slot'])}.lock"
                ):
                    env["lock_file"] = f"environment-{_safe(env['slot'])}.lock"
            env["short"] = env.get("short") or env["version"].removeprefix("sha256:")[:12]
            found.append(env)
        return found

    async def _rerun(
        self, path: str, notebook: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Execute the version on its pinned runtimes and compare each code cell's outputs
        with the published ones. Returns the notebook to render (published outputs, each code
        cell tagged reproduced or differed) and the report."""
        assert self.rerun is not None
        try:
            outcome = await self.rerun(path, copy.deepcopy(notebook))
            executed, error = outcome.get("notebook"), outcome.get("error")
        except NJError as err:
            executed, error = None, err.message
        marked = copy.deepcopy(notebook)
        cells = reproduced = differed = 0
        ran = executed.get("cells", []) if executed else []
        for index, cell in enumerate(marked.get("cells", [])):
            if cell.get("cell_type") != "code":
                continue
            cells += 1
            again = ran[index] if index < len(ran) else None
            same = again is not None and _outputs(again) == _outputs(cell)
            reproduced += same
            differed += not same
            tags = cell.setdefault("metadata", {}).setdefault("tags", [])
            tags.append(REPRODUCED_TAG if same else DIFFERED_TAG)
        report = {"cells": cells, "reproduced": reproduced, "differed": differed, "error": error}
        return marked, report

    # -- reading ------------------------------------------------------------------------------

    async def find(self, owner: str | None = None, path: str | None = None) -> list[dict[str, Any]]:
        return [e.to_json() for e in await asyncio.to_thread(self.store.find, owner, path)]

    async def unpublish(
        self, owner: str, slug: str, number: int | None, by: str
    ) -> list[dict[str, Any]]:
        if by != owner:
            raise NJError(
                403, "not-yours", f"Only {owner} may unpublish {owner}/{slug}; you are {by}."
            )
        check_slug(slug)
        ended = await asyncio.to_thread(self.store.unpublish, owner, slug, number)
        return [e.to_json() for e in ended]

    async def latest(self, owner: str, slug: str) -> Edition:
        check_slug(slug)
        return await asyncio.to_thread(self.store.latest, owner, slug)

    async def page(self, owner: str, slug: str, number: int) -> tuple[bytes, str]:
        """(page, ETag) of an edition: from memory when served before (the page never
        changes; one stat for the tombstone, on the event loop), else read in a thread;
        404 unknown, 410 unpublished."""
        check_slug(slug)
        key = (owner, slug, number)
        cached = self.pages.get(key)
        if cached is not None and not self.store.is_tombstoned(owner, slug, number):
            return cached
        return await asyncio.to_thread(self._load_page, key)

    def _load_page(self, key: tuple[str, str, int]) -> tuple[bytes, str]:
        edition = self.store.edition(*key)
        if edition.unpublished is not None:
            raise NJError(410, "unpublished", gone_message(edition))
        return self.pages.put(key, self.store.file(edition, PAGE_FILE).read_bytes())

    def download(self, owner: str, slug: str, number: int, name: str) -> tuple[Path, Edition]:
        """The file `name` of an edition (notebook, results, an environment lock)."""
        check_slug(slug)
        if name not in DOWNLOADS and not LOCK_FILE.fullmatch(name):
            raise NJError(404, "unknown-file", f"A publication has no file {name!r}.")
        edition = self.store.edition(owner, slug, number)
        if edition.unpublished is not None:
            raise NJError(410, "unpublished", gone_message(edition))
        target = self.store.file(edition, name)
        if not target.is_file():
            raise NJError(404, "unknown-file", f"This edition has no {name!r}.")
        return target, edition

    def published_notebook(self, edition: Edition) -> dict[str, Any]:
        """Blocking: an edition's notebook as published (for a remix)."""
        if self.store.is_tombstoned(edition.owner, edition.slug, edition.number):
            raise NJError(410, "unpublished", gone_message(edition))
        data: dict[str, Any] = json.loads(
            self.store.file(edition, NOTEBOOK_FILE).read_text(encoding="utf-8")
        )
        return data


def _render_with_limit(
    render: Callable[..., str], notebook: dict[str, Any], banner: str, head: str, limit: float
) -> str:
    """Blocking call of `render`, in its own thread so the publication lock waits no longer
    than `limit` seconds for it."""
    import concurrent.futures

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        return pool.submit(render, notebook, banner, head).result(timeout=limit)
    except concurrent.futures.TimeoutError:
        raise NJError(
            504,
            "render-timeout",
            f"Rendering this notebook took longer than {limit:.0f} s "
            "(NJApp.sharing_render_timeout).",
        ) from None
    finally:
        pool.shutdown(wait=False)


def _outputs(cell: dict[str, Any]) -> list[Any]:
    """A code cell's outputs as compared for a re-run: execution counts and transient display
    ids differ between any two runs and say nothing about the result."""
    compared = []
    for output in cell.get("outputs", []) or []:
        item = {k: v for k, v in output.items() if k not in {"execution_count", "transient"}}
        data = item.get("data")
        if isinstance(data, dict):
            item["data"] = {k: _joined(v) for k, v in data.items()}
        if "text" in item:
            item["text"] = _joined(item["text"])
        if not item.get("metadata"):
            item.pop("metadata", None)  # an empty metadata is the same as none
        compared.append(item)
    return compared


def _joined(value: Any) -> Any:
    return "".join(value) if isinstance(value, list) else value


def _safe(slot: str) -> str:
    return re.sub(r"[^a-z0-9_-]", "-", slot.lower())[:40]


# Results are read in pieces this large, each overlapping the last by one largest secret value
# (NJApp.secrets_max_value_bytes' default), so a value split across two pieces is still found.
_SCAN_PIECE = 1 << 20
_SCAN_OVERLAP = 65536


def _archive_holds(archive: Path, contains_secret: Callable[[Any], bool]) -> bool:
    """Blocking: whether any file of the results zip holds a live secret value as UTF-8 text
    (what a kernel writes with `print` or `open(..., "w")`; other encodings are not read)."""
    with zipfile.ZipFile(archive) as zipped:
        for member in zipped.infolist():
            if member.is_dir():
                continue
            with zipped.open(member) as stream:
                tail = b""
                while piece := stream.read(_SCAN_PIECE):
                    window = tail + piece
                    if contains_secret(window.decode("utf-8", errors="ignore")):
                        return True
                    tail = window[-_SCAN_OVERLAP:]
    return False
