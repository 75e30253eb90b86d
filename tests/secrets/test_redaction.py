"""Redaction of live values: texts, notebooks, the save path (fail closed) and log records."""

from __future__ import annotations

import base64
import io
import json
import logging
from pathlib import Path
from typing import Any

import nbformat
import pytest
from jupyter_server.services.contents.filemanager import FileContentsManager
from tornado.web import HTTPError

from jupyter_nj.secrets.redaction import (
    Redactor,
    install_log_redaction,
    uninstall_log_redaction,
)

VALUE = "tok-'q'-\"dq\"-\\bs-9f8e7d"
PEM = "-----BEGIN KEY-----\nAAAABBBBCCCC\nDDDDEEEEFFFF\n-----END KEY-----"


@pytest.fixture
def redactor() -> Redactor:
    r = Redactor()
    r.register("API_TOKEN", VALUE)
    r.register("PEM_KEY", PEM)
    return r


def test_text_forms_of_a_value_are_replaced(redactor: Redactor) -> None:
    assert redactor.redact_text(f"token={VALUE}!") == "token=[secret API_TOKEN]!"
    assert redactor.redact_text(repr(VALUE)) == "'[secret API_TOKEN]'"
    assert redactor.redact_text(json.dumps({"k": VALUE})) == '{"k": "[secret API_TOKEN]"}'
    assert redactor.redact_text(str({"env": VALUE})) == "{'env': '[secret API_TOKEN]'}"
    assert redactor.redact_text("nothing secret here") == "nothing secret here"


def test_short_values_are_not_registered() -> None:
    r = Redactor(min_length=4)
    assert r.register("PIN", "123") is False
    assert r.redact_text("pin 123") == "pin 123"
    assert not r.active


def test_a_notebook_with_values_split_across_lines_is_redacted(redactor: Redactor) -> None:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("print(key)")
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text=PEM + "\n"),
        nbformat.v4.new_output(
            "execute_result", data={"text/plain": repr(VALUE)}, execution_count=1
        ),
    ]
    nb.cells.append(cell)
    as_json = json.loads(nbformat.writes(nb))
    # nbformat on disk splits multi-line text into a list of lines.
    as_json["cells"][0]["outputs"][0]["text"] = (PEM + "\n").splitlines(keepends=True)
    clean = redactor.redact(as_json)
    text = json.dumps(clean)
    assert "AAAABBBBCCCC" not in text and "9f8e7d" not in text
    assert clean["cells"][0]["outputs"][0]["text"] == ["[secret PEM_KEY]\n"]
    plain = clean["cells"][0]["outputs"][1]["data"]["text/plain"]
    assert "".join(plain) == "'[secret API_TOKEN]'"
    # The input was not modified.
    assert "AAAABBBBCCCC" in json.dumps(as_json)


def test_redact_keeps_the_type_it_was_given(redactor: Redactor) -> None:
    assert isinstance(redactor.redact(VALUE), str)
    assert redactor.redact(VALUE.encode()) == b"[secret API_TOKEN]"
    assert redactor.redact({"a": [VALUE]}) == {"a": ["[secret API_TOKEN]"]}


def leaky_notebook() -> dict[str, Any]:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("show()")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"{VALUE}\n")]
    nb.cells.append(cell)
    return nb


def test_pre_save_hook_redacts_notebooks_and_text_files(tmp_path: Path, redactor: Redactor) -> None:
    cm = FileContentsManager(root_dir=str(tmp_path))
    cm.register_pre_save_hook(redactor.pre_save_hook)
    cm.save({"type": "notebook", "content": leaky_notebook()}, "leak.ipynb")
    cm.save({"type": "file", "format": "text", "content": f"key={VALUE}\n"}, "leak.txt")
    encoded = base64.b64encode(f"bin {VALUE}".encode()).decode()
    cm.save({"type": "file", "format": "base64", "content": encoded}, "leak.bin")
    for name in ("leak.ipynb", "leak.txt", "leak.bin"):
        on_disk = (tmp_path / name).read_text()
        assert "9f8e7d" not in on_disk, name
        assert "[secret API_TOKEN]" in on_disk, name


def test_pre_save_hook_fails_closed(tmp_path: Path, redactor: Redactor) -> None:
    """If redaction cannot run, nothing is written (jupyter_server would save on other errors)."""
    cm = FileContentsManager(root_dir=str(tmp_path))
    cm.register_pre_save_hook(redactor.pre_save_hook)
    broken = {"type": "file", "format": "base64", "content": "!!! not base64 " + VALUE}
    with pytest.raises(HTTPError) as caught:
        cm.save(broken, "broken.bin")
    assert VALUE not in str(caught.value)
    assert not (tmp_path / "broken.bin").exists()


def test_every_log_record_is_redacted_whatever_the_handler(redactor: Redactor) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("nj.test.redaction.child")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    install_log_redaction(redactor)
    try:
        logger.info("argument %s and literal " + VALUE, VALUE)
        try:
            raise ValueError(f"boom {VALUE}")
        except ValueError:
            logger.exception("failed with %r", {"token": VALUE})
    finally:
        uninstall_log_redaction(redactor)
        logger.removeHandler(handler)
    logged = stream.getvalue()
    assert "9f8e7d" not in logged
    assert logged.count("[secret API_TOKEN]") == 4
    assert "ValueError: boom [secret API_TOKEN]" in logged
    assert logging.getLogRecordFactory() is logging.LogRecord


def test_runtime_credentials_are_redacted_by_one_fixed_pattern() -> None:
    from jupyter_nj.secrets.runtime import RuntimeCredentials

    r = Redactor()
    credentials = RuntimeCredentials(ttl_seconds=60)
    tokens = [credentials.issue("nb.ipynb", "alice")[0] for _ in range(50)]
    assert r.redact_text(tokens[0]) == tokens[0]  # nothing issued through this redactor yet
    r.redact_runtime_credentials()
    dump = str({f"NJ_SECRETS_TOKEN_{i}": t for i, t in enumerate(tokens)})
    cleaned = r.redact_text(dump)
    assert not any(t in cleaned for t in tokens)
    assert cleaned.count("[secret NJ_SECRETS_TOKEN]") == 50
    assert len(r) == 0, "credentials must not grow the registry"
    assert r.may_contain(tokens[3].encode())


def test_kernel_messages_are_redacted_and_re_signed(redactor: Redactor) -> None:
    from jupyter_client.session import Session

    from jupyter_nj.secrets.websocket import redact_json_message, redact_kernel_message

    session = Session(key=b"kernel-key")
    message = session.msg("stream", content={"name": "stdout", "text": f"token {VALUE}\n"})
    frames = [b"ident", *session.serialize(message)]
    cleaned = redact_kernel_message(session, frames, redactor)
    _, parts = session.feed_identities(cleaned)
    decoded = session.deserialize(parts)  # raises if the signature does not match
    assert decoded["content"]["text"] == "token [secret API_TOKEN]\n"
    assert cleaned[0] == b"ident"
    untouched = [b"ident", *session.serialize(session.msg("stream", content={"text": "hello"}))]
    assert redact_kernel_message(session, untouched, redactor) is untouched

    as_gateway_sends_it = json.dumps({"content": {"data": {"text/plain": repr(VALUE)}}})
    assert "[secret API_TOKEN]" in str(redact_json_message(as_gateway_sends_it, redactor))
