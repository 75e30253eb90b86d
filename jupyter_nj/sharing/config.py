"""The sharing pillar's configurable traits, mixed into NJApp (`c.NJApp.sharing_*`)."""

from __future__ import annotations

from traitlets import Float, Int
from traitlets.config import Configurable


class SharingTraits(Configurable):
    """How large a text file an import reads; how draft pages render."""

    sharing_max_import_size = Int(
        20 * 1024 * 1024,
        config=True,
        help="""Bytes: a .md, .Rmd or .py file larger than this is refused for import (413),
        before it is read.""",
    )

    sharing_render_timeout = Float(
        60.0,
        config=True,
        help="Seconds rendering a notebook to a page (draft links) may take before it fails (504).",
    )
    sharing_draft_refresh = Int(
        10,
        config=True,
        help="""Seconds between reloads of an open draft page, so that it follows the author's
        saves (and ends soon after its link is revoked).""",
    )
