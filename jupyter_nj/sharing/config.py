"""The sharing pillar's configurable traits, mixed into NJApp (`c.NJApp.sharing_*`)."""

from __future__ import annotations

from traitlets import Enum, Float, Int, Unicode
from traitlets.config import Configurable


class SharingTraits(Configurable):
    """How large a text file an import reads; how draft pages render; where publications live
    and who may read them."""

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

    drafts_dir = Unicode(
        "",
        config=True,
        help="""A folder where each active draft link's page is also kept, rendered at each
        save of its notebook, for a process other than this server to serve (the hub's pages
        service, `jupyter nj pages-service --drafts-dir`), so that the link answers while this
        server is stopped. Empty (the default): draft pages are rendered by this server only
        (docs/sharing.md).""",
    )
    drafts_base_url = Unicode(
        "",
        config=True,
        help="""Where draft pages are read when NJApp.drafts_dir is set, as the URL a new link
        answers names it: empty for this server (its base URL); under JupyterHub the pages
        service's prefix, for example `/services/nj-pages/`.""",
    )
    drafts_snapshot_delay = Float(
        1.0,
        config=True,
        help="""Seconds a draft snapshot waits after a save of its notebook before it renders
        again, so that a burst of saves (autosave, co-editors) renders once.""",
    )

    publish_dir = Unicode(
        "",
        config=True,
        help="""The folder publications are kept in. Empty: `<jupyter data dir>/nj/publications`,
        the user's, shared by every server they run. Under JupyterHub, a folder that the hub's
        jupyter-nj service serves from too (docs/sharing.md).""",
    )
    publish_access = Enum(
        ["public", "authenticated"],
        "public",
        config=True,
        help="""Who may read published pages at /nj/p/: `public` (anyone with the URL, no login)
        or `authenticated` (users who may log in to this server or hub).""",
    )
    publish_max_size = Int(
        50 * 1024 * 1024,
        config=True,
        help="Bytes: a notebook version larger than this is refused for publishing (413).",
    )
    publish_base_url = Unicode(
        "",
        config=True,
        help="""Where published pages are read, as the URLs the API answers name them: empty for
        this server (its base URL); under JupyterHub the pages service's prefix, for example
        `/services/nj-pages/` (docs/sharing.md), so a URL outlives the author's server.""",
    )
    publish_remix_url = Unicode(
        "",
        config=True,
        help="""Where a published page's Remix goes, with `{owner}`, `{slug}` and `{number}`:
        empty for this server's own remix page; under JupyterHub
        `/hub/user-redirect/nj/p/{owner}/{slug}/{number}/remix`, the reader's own server.""",
    )
    guest_access = Enum(
        ["auto", "edit-links", "everything"],
        "auto",
        config=True,
        help="""What a user who is not the server's owner may reach: `edit-links` (only the
        notebooks an active edit link names, read and saved, and running code only where the
        link allows it; sharing.md), `everything` (jupyter_server's own rule: any logged-in
        user may do anything), or `auto`: `edit-links` under JupyterHub (a hub share grants
        the whole server otherwise), `everything` elsewhere. Applies when the server uses
        jupyter-nj's Authorizer (no ServerApp.authorizer_class of its own).""",
    )
