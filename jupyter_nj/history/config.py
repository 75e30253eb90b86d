"""History's configurable traits, mixed into NJApp (which stays the one place that knows them)."""

from __future__ import annotations

from traitlets import Bool, Callable, Enum, Float, Int, List, Unicode
from traitlets.config import Configurable


class HistoryTraits(Configurable):
    """`c.NJApp.history_*`: how saves become versions, and what a version captures."""

    history_enabled = Bool(
        True,
        config=True,
        help="""True: every save becomes a version, the history API is served and checkpoints
        live in the history store. False: none of that (jupyter_server's own checkpoints).""",
    )

    history_quiet_period = Float(
        2.0,
        config=True,
        help="""Seconds a file must go unsaved before its latest save becomes a version. Saves
        closer together are coalesced into one version; any content that stayed saved at least
        this long is always kept. 0 makes every save a version.""",
    )

    history_max_delay = Float(
        30.0,
        config=True,
        help="""Seconds after the first unrecorded save by which a version is written even if
        saves keep coming (a collaborative room saves about every second while people type).""",
    )

    history_max_file_size = Int(
        100 * 1024 * 1024,
        config=True,
        help="Bytes: a saved file larger than this gets no version (the save is unaffected).",
    )

    history_results_folder = Unicode(
        "{stem}.results",
        config=True,
        help="""Folder next to a notebook whose files are captured with each version of it;
        `{stem}` is the notebook's name without `.ipynb`, `{name}` its full name. Empty turns
        results capture off.""",
    )

    history_results_max_file_size = Int(
        50 * 1024 * 1024,
        config=True,
        help="Bytes: results-folder files larger than this are not captured.",
    )

    history_results_max_total_size = Int(
        200 * 1024 * 1024,
        config=True,
        help="""Bytes: at most this much of a results folder is captured per version (files past
        the limit, in name order, are skipped).""",
    )

    history_results_ignore = List(
        Unicode(),
        default_value=[".*", "*.tmp", "*.swp", "__pycache__", ".ipynb_checkpoints"],
        config=True,
        help="Glob patterns (matched on the name and on the path inside the results folder) "
        "of results-folder files and folders that are never captured.",
    )

    history_repack_every = Int(
        500,
        config=True,
        help="""Versions between background repacks of the store (`git repack --geometric`),
        which keep loose objects from piling up. 0 turns background repacking off.""",
    )

    history_diff_executor = Enum(
        ["process", "thread"],
        default_value="process",
        config=True,
        help="""Where nbdime diffs run: `process` (a worker process, killed when a diff runs past
        history_diff_timeout) or `thread` (no process start-up; a timed-out diff keeps running).""",
    )

    history_diff_timeout = Float(
        60.0,
        config=True,
        help="Seconds a diff may take before the request fails with 504.",
    )

    history_redact = Callable(
        None,
        allow_none=True,
        config=True,
        help="""`redact(content) -> content`, applied to every version before it is written: the
        notebook as a dict, or a text file as str. None: the secrets pillar's redaction when it
        is on, else no change.""",
    )
