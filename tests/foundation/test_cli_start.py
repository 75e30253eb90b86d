"""`jupyter nj` starts without compiling jsonschema's IRI grammars, and IRIs are still checked."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import sys, time
from jupyter_nj.cli import defer_iri_grammars
defer_iri_grammars()
from jsonschema import Draft7Validator
assert "lark" not in sys.modules, "the grammars were compiled at import"
validator = Draft7Validator({"format": "iri"}, format_checker=Draft7Validator.FORMAT_CHECKER)
bad = [e.message for e in validator.iter_errors("http://ex ample.org/")]
good = [e.message for e in validator.iter_errors("http://example.org/caf\\u00e9")]
print(bad, good, "lark" in sys.modules)
"""


def test_iri_checks_give_the_same_answers_when_their_grammars_load_late() -> None:
    ran = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=120, check=False
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "[\"'http://ex ample.org/' is not a 'iri'\"] [] True"
