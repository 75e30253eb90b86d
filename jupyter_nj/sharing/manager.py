"""SharingManager: import text files as notebooks, export notebooks and their versions as text,
remix notebooks.

It reads and writes files only through the contents manager (so saves reach history and the
link guard like any other save) and reads versions only through the `read_version` callable
that app.py hands it; a remix's store-level part (the new history that starts from the
original's version, the results folder) is the `remix_version` callable's. It never imports the
history pillar. jupytext runs in worker threads.
"""

from __future__ import annotations

import asyncio
import copy
import posixpath
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from jupyter_server.utils import ensure_async
from tornado.web import HTTPError

from ..base import NJError, resolve_api_path
from ..documents import LiveDocuments
from .formats import (
    default_import_target,
    export_filename,
    format_named,
    import_format,
    notebook_to_text,
    suffix_of,
    text_to_notebook,
)

# (API path, version id) -> that version of the notebook, as nbformat JSON.
VersionReader = Callable[[str, str], Awaitable[dict[str, Any]]]
# (notebook, origin) -> the notebook the remix saves.
RemixStamp = Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]
# (API path, version id or "current", target API path, stamp) -> what history wrote.
VersionRemixer = Callable[[str, str, str, RemixStamp], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Exported:
    """A notebook written out as text, and what the download is called."""

    filename: str
    media_type: str
    text: str


def normalize_api_path(path: str | None) -> str:
    path = (path or "").strip()
    # JupyterLab's collaborative drive prefixes paths with "RTC:".
    return path.removeprefix("RTC:").strip("/")


class SharingManager:
    """Import and export under one server root."""

    def __init__(
        self,
        root_dir: str,
        documents: LiveDocuments,
        read_version: VersionReader,
        *,
        remix_version: VersionRemixer | None = None,
        max_import_size: int = 20 * 1024 * 1024,
        links: Any = None,
        publishing: Any = None,
        principals: Any = None,
        owner_of: Callable[[Any], str] | None = None,
        results_folder: str = "{stem}.results",
    ) -> None:
        self.root_dir = str(root_dir)
        self.documents = documents
        self.read_version = read_version
        self.remix_version = remix_version
        self.max_import_size = max_import_size
        # Draft links (links.py: DraftLinkService), or None where they are off.
        self.links = links
        # Publications (publishing.py: PublishingService), or None where they are off.
        self.publishing = publishing
        # Who can be named when sharing (principals.py: PrincipalDirectory), or None.
        self.principals = principals
        # A request's user -> the user name publications are owned by (app.py's identity).
        self.owner_of = owner_of or (lambda user: str(getattr(user, "username", "") or "owner"))
        # History's results folder of a notebook (`{stem}`, `{name}`), for a remix of a
        # publication; empty: results are not captured.
        self.results_folder = results_folder

    @property
    def contents_manager(self) -> Any:
        # Looked up at each call: another extension may replace the server's contents manager.
        cm = self.documents.contents_manager
        if cm is None:
            raise NJError(500, "no-contents", "No contents manager is available.")
        return cm

    def _inside_root(self, path: str, what: str) -> str:
        api_path = normalize_api_path(path)
        if not api_path:
            raise NJError(404, "not-found", f"Name the {what}, not the server root.")
        # Tornado has already URL-decoded the path once: a literal "%" stays a "%".
        resolve_api_path(self.root_dir, api_path.replace("%", "%25"))
        return api_path

    def notebook_path(self, path: str) -> str:
        """A notebook's API path, checked: inside the root (403 otherwise), ending in .ipynb."""
        api_path = self._inside_root(path, "notebook")
        if suffix_of(api_path) != ".ipynb":
            raise NJError(400, "not-a-notebook", f"{api_path!r} is not a notebook (.ipynb).")
        return api_path

    # -- import ---------------------------------------------------------------------------------

    async def import_notebook(
        self,
        source: str,
        *,
        to: str | None = None,
        overwrite: bool = False,
        fmt: str | None = None,
    ) -> dict[str, Any]:
        """Read `source` (.md, .Rmd, .py) with jupytext and save it as the notebook `to`.

        Nothing is written unless the whole conversion succeeded: 404 for a missing source,
        400 for a file jupytext cannot read, 409 when `to` exists (unless `overwrite`) or is
        open in a real-time room, 413 for a source over `max_import_size` bytes.
        """
        src = self._inside_root(source, "file to import")
        import_format(src, "", fmt)  # 400 early for a suffix or format that cannot be imported
        target = self._inside_root(to if to else default_import_target(src), "target notebook")
        if suffix_of(target) != ".ipynb":
            raise NJError(400, "bad-target", f"The target {target!r} must end in .ipynb.")
        cm = self.contents_manager
        text = await self._read_source(cm, src)
        if await self._exists(cm, target):
            if not overwrite:
                raise NJError(
                    409,
                    "exists",
                    f"{target!r} already exists: choose another name, or send "
                    '"overwrite": true to replace it.',
                )
            if await ensure_async(cm.dir_exists(target)):
                raise NJError(409, "exists", f"{target!r} is a folder.")
            if self.documents.room(target) is not None:
                raise NJError(
                    409,
                    "open-in-room",
                    f"{target!r} is open in a real-time room: import to another name, or "
                    "close it everywhere first.",
                )
        folder = posixpath.dirname(target)
        if folder and not await ensure_async(cm.dir_exists(folder)):
            raise NJError(404, "no-folder", f"There is no folder {folder!r} to import into.")
        text_format = import_format(src, text, fmt)
        notebook = await asyncio.to_thread(text_to_notebook, text, text_format)
        model = {"type": "notebook", "format": "json", "content": notebook}
        try:
            saved = await ensure_async(cm.save(model, target))
        except HTTPError as err:
            raise _contents_error(err, target) from None
        return {
            "path": saved.get("path", target),
            "name": saved.get("name", posixpath.basename(target)),
            "type": "notebook",
            "last_modified": str(saved.get("last_modified", "")),
            "source": src,
            "format": text_format.name,
            "cells": len(notebook.get("cells", [])),
        }

    async def _read_source(self, cm: Any, src: str) -> str:
        try:
            # `type="file"`: a contents manager that opens text as notebooks (jupytext's)
            # must hand over the file itself.
            info = await ensure_async(cm.get(src, content=False, type="file"))
            size = info.get("size")
            if isinstance(size, int) and size > self.max_import_size:
                raise self._too_large(src)
            model = await ensure_async(cm.get(src, content=True, type="file", format="text"))
        except HTTPError as err:
            if isinstance(err, NJError):
                raise
            raise _contents_error(err, src) from None
        text = model.get("content")
        if not isinstance(text, str):
            raise NJError(400, "not-text", f"{src!r} is not a UTF-8 text file.")
        if len(text.encode("utf-8", "surrogatepass")) > self.max_import_size:
            raise self._too_large(src)
        return text

    def _too_large(self, src: str) -> NJError:
        return NJError(
            413,
            "too-large",
            f"{src!r} is larger than the {self.max_import_size} bytes an import reads "
            "(NJApp.sharing_max_import_size).",
        )

    @staticmethod
    async def _exists(cm: Any, path: str) -> bool:
        return bool(await ensure_async(cm.exists(path)))

    # -- export ---------------------------------------------------------------------------------

    async def export_notebook(
        self, path: str, *, version: str | None = None, fmt: str | None = None
    ) -> Exported:
        """A notebook, at `version` (a history version id) or as it is now, as text.

        Unknown format: 400; unknown version: 404 (from history); not a notebook: 400.
        """
        text_format = format_named(fmt)
        api_path = self._inside_root(path, "notebook to export")
        if suffix_of(api_path) != ".ipynb":
            raise NJError(400, "not-a-notebook", f"{api_path!r} is not a notebook (.ipynb).")
        if version:
            notebook = await self.read_version(api_path, version)
        else:
            notebook = await self.documents.notebook_content(api_path)
        text = await asyncio.to_thread(notebook_to_text, notebook, text_format)
        return Exported(
            export_filename(api_path, text_format, version), text_format.media_type, text
        )

    # -- remix ----------------------------------------------------------------------------------

    async def remix(
        self,
        source: str,
        *,
        version: str | None = None,
        to: str | None = None,
        publication: str | None = None,
    ) -> dict[str, Any]:
        """Copy the notebook `source` at `version` (default "current") to `to` (default
        `<stem>-remix.ipynb` beside it, numbered when taken), with its runtime pins, its
        attached secret names, its results folder at that version and a history that starts
        from the original's version; `metadata.nj.remix` names where it came from.

        404: unknown source, version or folder; 400: not a notebook; 409: `to` (or its results
        folder) exists; 413: over history's size limit; 503: history is off. Nothing is
        written when any of them is answered.
        """
        if self.remix_version is None:
            raise NJError(503, "history-unavailable", "Remix needs history, which is off here.")
        src = self._inside_root(source, "notebook to remix")
        if suffix_of(src) != ".ipynb":
            raise NJError(400, "not-a-notebook", f"{src!r} is not a notebook (.ipynb).")
        wanted = (version or "current").strip()
        if to:
            target = self._inside_root(to, "notebook to write")
            if suffix_of(target) != ".ipynb":
                raise NJError(400, "bad-target", f"The target {target!r} must end in .ipynb.")
        else:
            target = await self._free_remix_name(src)
        at = time.time()
        result = await self.remix_version(
            src, wanted, target, lambda nb, o: stamp_remix(nb, o, at, publication)
        )
        nj = _nj_metadata({"metadata": (await self.documents.notebook_metadata(target))[1]})
        result["secrets"] = [n for n in nj.get("secrets", []) if isinstance(n, str)]
        result["runtimes"] = nj.get("runtimes") if isinstance(nj.get("runtimes"), dict) else {}
        result["remix"] = nj.get("remix")
        return result

    async def _free_remix_name(self, src: str, folder: str | None = None) -> str:
        source_folder, name = posixpath.split(src)
        folder = source_folder if folder is None else folder
        stem = name[: -len(".ipynb")]
        cm = self.contents_manager
        for n in range(1, 1000):
            candidate = posixpath.join(folder, f"{stem}-remix{'' if n == 1 else f'-{n}'}.ipynb")
            results = self._results_of(candidate) or candidate[: -len(".ipynb")] + ".results"
            if not await self._exists(cm, candidate) and not await self._exists(cm, results):
                return candidate
        raise NJError(409, "exists", f"Every name {stem}-remix-N.ipynb is taken: pass `to`.")

    def _results_of(self, notebook_path: str) -> str | None:
        """The API path of a notebook's results folder, or None where results are off."""
        if not self.results_folder:
            return None
        folder, name = posixpath.split(notebook_path)
        stem = name.removesuffix(".ipynb")
        return posixpath.join(folder, self.results_folder.format(stem=stem, name=name))

    # -- publishing ---------------------------------------------------------------------------

    @property
    def publications(self) -> Any:
        if self.publishing is None:
            raise NJError(503, "publishing-unavailable", "Publishing is off on this server.")
        return self.publishing

    async def publish(
        self,
        path: str,
        user: Any,
        *,
        version: str = "current",
        slug: str | None = None,
        rerun: bool = False,
        include_results: bool = True,
    ) -> dict[str, Any]:
        """Publish a notebook version as the user's next edition (publishing.py)."""
        api_path = self.notebook_path(path)
        owner = self.owner_of(user)
        return dict(
            await self.publications.publish(
                api_path,
                owner,
                version=version,
                slug=slug,
                rerun=rerun,
                include_results=include_results,
            )
        )

    async def unpublish(
        self, owner: str, slug: str, number: int | None, user: Any
    ) -> list[dict[str, Any]]:
        return list(await self.publications.unpublish(owner, slug, number, self.owner_of(user)))

    async def remix_publication(
        self, owner: str, slug: str, number: int, user: Any, to: str | None = None
    ) -> dict[str, Any]:
        """Remix a published edition into this server's files.

        The author's own server remixes the version from history (the remix's history starts
        from it, as any remix's). Anyone else's gets the notebook as published and its results
        folder from the publication, attributed to the author, with a history of its own.
        409 when `to` (or its results folder) exists; 410 for an unpublished edition.
        """
        service = self.publications
        edition = await asyncio.to_thread(service.store.edition, owner, slug, number)
        notebook = await asyncio.to_thread(service.published_notebook, edition)  # 410 if gone
        name = posixpath.basename(edition.source_path)
        if to:
            target = self._inside_root(to, "notebook to write")
            if suffix_of(target) != ".ipynb":
                raise NJError(400, "bad-target", f"The target {target!r} must end in .ipynb.")
        else:
            target = await self._free_remix_name(name, folder="")
        if self.remix_version is not None and self.owner_of(user) == owner:
            try:
                return await self.remix(
                    edition.source_path, version=edition.version, to=target, publication=edition.url
                )
            except NJError as err:
                if err.status_code != 404:
                    raise
                # The notebook or its history is gone from here: copy the publication instead.
        return await self._copy_publication(edition, notebook, target)

    async def _copy_publication(
        self, edition: Any, notebook: dict[str, Any], target: str
    ) -> dict[str, Any]:
        from .publications import RESULTS_FILE

        cm = self.contents_manager
        results = self._results_of(target)
        for taken in (target, results):
            if taken and await self._exists(cm, taken):
                raise NJError(409, "exists", f"{taken!r} already exists: choose another name.")
        folder = posixpath.dirname(target)
        if folder and not await ensure_async(cm.dir_exists(folder)):
            raise NJError(404, "no-folder", f"There is no folder {folder!r} to remix into.")
        origin = {
            "path": edition.source_path,
            "file_id": edition.source_file_id,
            "version": edition.version,
            "authors": [edition.owner],
            "author_display_names": [edition.author],
        }
        stamped = stamp_remix(notebook, origin, time.time(), edition.url)
        archive = self.publishing.store.file(edition, RESULTS_FILE)
        copied = 0
        if results and edition.results and archive.is_file():
            results_os = resolve_api_path(self.root_dir, results.replace("%", "%25"))
            copied = await asyncio.to_thread(_unpack_results, archive, results_os)
        model = {"type": "notebook", "format": "json", "content": stamped}
        try:
            await ensure_async(cm.save(model, target))
        except HTTPError as err:
            raise _contents_error(err, target) from None
        nj = _nj_metadata(stamped)
        return {
            "path": target,
            "from": origin,
            "publication": edition.url,
            "results": {"files": copied, "folder": results} if copied else None,
            "secrets": [n for n in nj.get("secrets", []) if isinstance(n, str)],
            "runtimes": nj.get("runtimes") if isinstance(nj.get("runtimes"), dict) else {},
            "remix": nj.get("remix"),
        }


def _unpack_results(archive: Any, folder: Any) -> int:
    """Blocking: a publication's results zip into a new results folder; no member may leave
    it (a zip names its own paths)."""
    import os
    import zipfile

    base = os.path.realpath(folder)
    count = 0
    with zipfile.ZipFile(archive) as zipped:
        for member in zipped.infolist():
            if member.is_dir():
                continue
            dest = os.path.realpath(os.path.join(base, member.filename))
            if not dest.startswith(base + os.sep):
                raise NJError(
                    400, "bad-results", f"The results hold a bad path {member.filename!r}."
                )
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            with zipped.open(member) as src, open(dest, "xb") as out:
                while chunk := src.read(1 << 20):
                    out.write(chunk)
            count += 1
    return count


def _nj_metadata(notebook: dict[str, Any]) -> dict[str, Any]:
    nj = (notebook.get("metadata") or {}).get("nj")
    return nj if isinstance(nj, dict) else {}


def stamp_remix(
    notebook: dict[str, Any], origin: dict[str, Any], at: float, publication: str | None = None
) -> dict[str, Any]:
    """The notebook with `metadata.nj.remix = {"from": {...}, "at": ISO time}`; everything else
    (runtime pins, attached secret names) as the version had it."""
    from datetime import datetime, timezone

    stamped = copy.deepcopy(notebook)
    metadata = stamped.setdefault("metadata", {})
    nj = metadata.get("nj")
    if not isinstance(nj, dict):
        nj = metadata["nj"] = {}
    nj["remix"] = {
        "from": {
            "path": origin["path"],
            "file_id": origin.get("file_id"),
            "version": origin["version"],
            "authors": list(origin.get("authors", [])),
            "author_display_names": list(origin.get("author_display_names", [])),
        },
        "at": datetime.fromtimestamp(at, tz=timezone.utc)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z"),
    }
    if publication:
        nj["remix"]["publication"] = publication
    return stamped


def _contents_error(err: HTTPError, path: str) -> NJError:
    """The contents manager's refusal, as an NJError with its status (4xx) and its reason."""
    status = err.status_code if 400 <= err.status_code < 500 else 500
    if status == 404:
        return NJError(404, "not-found", f"No such file: {path!r}.")
    if status == 500:
        return NJError(500, "contents-error", f"The contents manager could not handle {path!r}.")
    detail = err.log_message % err.args if err.log_message and err.args else err.log_message
    return NJError(status, "contents-refused", str(detail or f"{path!r} was refused."))
