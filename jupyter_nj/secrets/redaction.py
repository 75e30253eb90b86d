"""Redaction: every secret value a runtime received is replaced by `[secret NAME]` before it is
stored or logged.

`Redactor` keeps the live values in memory only (never on disk) and replaces them by exact
match, in the forms a value takes when code prints it: as is, as Python's `repr` escapes it and
as JSON escapes it. It is best effort by nature: a program can always transform a value (slice,
reverse, base64) before printing it. docs/secrets.md says where the real boundary is.

Three places use it:
- `Redactor.pre_save_hook`, registered on the contents manager: a notebook or text file is
  redacted before it is written. It fails closed: if redaction itself fails, the save is refused
  with an HTTP error (jupyter_server swallows any other exception and would write the file).
- `install_log_redaction`: a log-record factory, so every log line of this process (server,
  tornado access log, kernel manager) is redacted whichever handler writes it.
- `Redactor.redact`: the callable app.py hands to the history pillar, for versions it stores.
"""

from __future__ import annotations

import base64
import copy
import json
import logging
import re
import threading
import weakref
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote

from tornado.web import HTTPError

T = TypeVar("T")

DEFAULT_MIN_LENGTH = 4
_WORD = re.compile(r"[A-Za-z0-9_]+")
# Runtime credentials: "njk_" and 43 URL-safe characters (32 random bytes).
CREDENTIAL_PREFIX = "njk_"
CREDENTIAL_PATTERN = r"njk_[A-Za-z0-9_\-]{43}"
CREDENTIAL_NAME = "NJ_SECRETS_TOKEN"


def placeholder(name: str) -> str:
    return f"[secret {name}]"


def value_variants(value: str) -> set[str]:
    """The forms an exact value takes in output and logs: raw, `repr`- and JSON-escaped, and
    percent-encoded (a value in a URL, as an access log line prints it)."""
    variants = {value, repr(value)[1:-1], json.dumps(value)[1:-1]}
    variants.add(json.dumps(value, ensure_ascii=False)[1:-1])
    variants.add(quote(value, safe=""))
    variants.add(quote(value, safe="/"))
    return {v for v in variants if v}


class Redactor:
    """The registry of live secret values and the functions that blank them out."""

    def __init__(self, min_length: int = DEFAULT_MIN_LENGTH) -> None:
        self.min_length = min_length
        self._lock = threading.Lock()
        self._names_by_variant: dict[str, str] = {}
        self._pattern: re.Pattern[str] | None = None
        self._byte_pattern: re.Pattern[bytes] | None = None
        # A cheap pre-check on raw bytes in any encoding: the longest ASCII word of each value
        # survives JSON, repr and URL escaping unchanged.
        self._cores: set[bytes] = set()
        self._core_pattern: re.Pattern[bytes] | None = None
        self._scan_everything = False
        self._credentials = False

    # -- registry -------------------------------------------------------------------------------

    def register(self, name: str, value: str) -> bool:
        """Remember a value a runtime received. False if it is too short to redact safely.

        Values stay registered for the life of the server: a kernel may still hold an old value
        after the secret changed.
        """
        if len(value) < self.min_length:
            return False
        with self._lock:
            before = len(self._names_by_variant)
            for variant in value_variants(value):
                if len(variant) >= self.min_length:
                    self._names_by_variant.setdefault(variant, name)
            core = max(_WORD.findall(value), key=len, default="")
            if len(core) >= self.min_length:
                self._cores.add(core.encode())
            else:
                self._scan_everything = True
            if len(self._names_by_variant) != before:
                self._rebuild()
        return True

    def redact_runtime_credentials(self) -> None:
        """Also replace runtime credentials (`njk_...`), whichever kernel they belong to.

        One fixed pattern instead of one registry entry per kernel, so the registry does not
        grow with every runtime started.
        """
        with self._lock:
            if not self._credentials:
                self._credentials = True
                self._cores.add(CREDENTIAL_PREFIX.encode())
                self._rebuild()

    def _rebuild(self) -> None:
        # Longest first, so a value that contains another value is replaced whole.
        ordered = sorted(self._names_by_variant, key=len, reverse=True)
        texts = [re.escape(v) for v in ordered]
        raw = [re.escape(v.encode("utf-8")) for v in ordered]
        if self._credentials:
            texts.append(CREDENTIAL_PATTERN)
            raw.append(CREDENTIAL_PATTERN.encode())
        self._pattern = re.compile("|".join(texts))
        self._byte_pattern = re.compile(b"|".join(raw))
        cores = sorted(self._cores, key=len, reverse=True)
        self._core_pattern = re.compile(b"|".join(re.escape(c) for c in cores))

    def _name_for(self, matched: str) -> str:
        name = self._names_by_variant.get(matched)
        if name is not None:
            return name
        return CREDENTIAL_NAME if matched.startswith(CREDENTIAL_PREFIX) else "?"

    @property
    def active(self) -> bool:
        return self._pattern is not None

    def may_contain(self, data: bytes) -> bool:
        """False when `data` (raw bytes, any escaping) certainly holds no live value."""
        if self._pattern is None:
            return False
        if self._scan_everything:
            return True
        core_pattern = self._core_pattern
        return core_pattern is not None and core_pattern.search(data) is not None

    def __len__(self) -> int:
        return len(self._names_by_variant)

    # -- redaction ------------------------------------------------------------------------------

    def redact_text(self, text: str) -> str:
        pattern = self._pattern
        if pattern is None or not text:
            return text
        return pattern.sub(lambda m: placeholder(self._name_for(m.group(0))), text)

    def redact_bytes(self, data: bytes) -> bytes:
        pattern = self._byte_pattern
        if pattern is None or not data:
            return data
        return pattern.sub(
            lambda m: placeholder(self._name_for(m.group(0).decode("utf-8"))).encode("utf-8"),
            data,
        )

    def contains_live_value(self, obj: Any) -> bool:
        pattern = self._pattern
        if pattern is None:
            return False
        if isinstance(obj, str):
            return pattern.search(obj) is not None
        return pattern.search(json.dumps(obj, ensure_ascii=False, default=str)) is not None

    def redact_structure(self, obj: Any) -> Any:
        """A copy of a JSON-like structure (a notebook) with every live value replaced.

        nbformat stores multi-line text as a list of lines, and a value may span lines (a PEM
        key), so a list of lines is joined, redacted as one text, and split again.
        """
        if self._pattern is None:
            return copy.deepcopy(obj)
        return self._redact_node(obj)

    def _redact_node(self, node: Any) -> Any:
        if isinstance(node, str):
            return self.redact_text(node)
        if isinstance(node, dict):
            redacted = {self.redact_text(k): self._redact_node(v) for k, v in node.items()}
            return type(node)(redacted) if type(node) is not dict else redacted
        if isinstance(node, list):
            if len(node) > 1 and _is_list_of_lines(node):
                joined = "".join(node)
                cleaned = self.redact_text(joined)
                if cleaned != joined:
                    return cleaned.splitlines(keepends=True)
                return list(node)
            return [self._redact_node(item) for item in node]
        return copy.deepcopy(node)

    def redact(self, notebook_or_text: T) -> T:
        """Redact a notebook (dict), a text or bytes; returns the same type. For other pillars."""
        if isinstance(notebook_or_text, str):
            return self.redact_text(notebook_or_text)  # type: ignore[return-value]
        if isinstance(notebook_or_text, bytes):
            return self.redact_bytes(notebook_or_text)  # type: ignore[return-value]
        redacted: T = self.redact_structure(notebook_or_text)
        return redacted

    def redact_model(self, model: dict[str, Any]) -> int:
        """Redact a contents-API model in place; returns how many replacements it made."""
        if self._pattern is None or model.get("content") is None:
            return 0
        content = model["content"]
        kind = model.get("type")
        if kind == "notebook":
            redacted = self.redact_structure(content)
            if redacted == content:
                return 0
            model["content"] = redacted
            marker = "[secret "
            before = json.dumps(content, ensure_ascii=False, default=str).count(marker)
            after = json.dumps(redacted, ensure_ascii=False, default=str).count(marker)
            return max(1, after - before)
        if kind == "file" and isinstance(content, str):
            if model.get("format") == "base64":
                raw = base64.b64decode(content)
                count = len(self._byte_pattern.findall(raw)) if self._byte_pattern else 0
                if count:
                    model["content"] = base64.b64encode(self.redact_bytes(raw)).decode("ascii")
                return count
            count = len(self._pattern.findall(content))
            if count:
                model["content"] = self.redact_text(content)
            return count
        return 0

    def pre_save_hook(self, model: dict[str, Any], path: str, **_: Any) -> None:
        """Contents-manager pre-save hook: redact, and refuse the save if that is impossible."""
        try:
            count = self.redact_model(model)
        except Exception:
            # jupyter_server logs and ignores other exceptions from a hook and then writes the
            # file as is; an HTTPError is the only way to stop the write.
            logging.getLogger(__name__).exception("Secret redaction failed for %s", path)
            raise HTTPError(
                500,
                "The save was refused: the file could not be checked for secret values. "
                "The server log has the details.",
            ) from None
        if count:
            logging.getLogger(__name__).warning(
                "Replaced %d live secret value(s) in %s before saving it.", count, path
            )


def _is_list_of_lines(items: list[Any]) -> bool:
    if not all(isinstance(item, str) for item in items):
        return False
    return all(item.endswith("\n") for item in items[:-1])


# -- server log ---------------------------------------------------------------------------------

_active_redactors: weakref.WeakSet[Redactor] = weakref.WeakSet()
_factory_lock = threading.Lock()
_previous_factory: Callable[..., logging.LogRecord] | None = None


def _redacting_record_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    assert _previous_factory is not None
    record = _previous_factory(*args, **kwargs)
    redactors = [r for r in list(_active_redactors) if r.active]
    if not redactors:
        return record
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001  a malformed log call is the logging module's to report
        return record
    cleaned = message
    for redactor in redactors:
        cleaned = redactor.redact_text(cleaned)
    if cleaned != message:
        record.msg, record.args = cleaned, None
    if record.exc_info and record.exc_info[0] is not None:
        # Pre-format the traceback so that every handler prints the redacted one.
        text = logging.Formatter().formatException(record.exc_info)
        for redactor in redactors:
            text = redactor.redact_text(text)
        record.exc_text = text
    if record.stack_info:
        for redactor in redactors:
            record.stack_info = redactor.redact_text(record.stack_info)
    return record


def install_log_redaction(redactor: Redactor) -> None:
    """Redact every log record this process creates, whatever logger or handler it goes to.

    A record factory rather than a handler filter: filters on a logger do not see records that
    propagate from child loggers, and handler filters miss handlers added later.
    """
    global _previous_factory
    with _factory_lock:
        _active_redactors.add(redactor)
        if logging.getLogRecordFactory() is not _redacting_record_factory:
            _previous_factory = logging.getLogRecordFactory()
            logging.setLogRecordFactory(_redacting_record_factory)


def uninstall_log_redaction(redactor: Redactor) -> None:
    global _previous_factory
    with _factory_lock:
        _active_redactors.discard(redactor)
        if (
            not _active_redactors
            and logging.getLogRecordFactory() is _redacting_record_factory
            and _previous_factory is not None
        ):
            logging.setLogRecordFactory(_previous_factory)
            _previous_factory = None
