"""The sharing pillar's configurable traits, mixed into NJApp (`c.NJApp.sharing_*`)."""

from __future__ import annotations

from traitlets import Int
from traitlets.config import Configurable


class SharingTraits(Configurable):
    """How large a text file an import reads."""

    sharing_max_import_size = Int(
        20 * 1024 * 1024,
        config=True,
        help="""Bytes: a .md, .Rmd or .py file larger than this is refused for import (413),
        before it is read.""",
    )
