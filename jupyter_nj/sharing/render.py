"""Notebooks as read-only HTML pages (draft links, and publications later), with nbconvert.

Rendering is CPU work on a notebook a runtime may have filled with anything, so it runs in a
worker thread with a time limit, and the page it makes is served under a Content-Security-Policy
sandbox: the notebook's own scripts (outputs with JavaScript) never run with the server's origin,
so they cannot reach its API or its cookies.
"""

from __future__ import annotations

import asyncio
import html
from typing import Any

from ..base import NJError

# No script, no plugin, no form; the page's own styles and images (nbconvert inlines them, and
# outputs' images are data: URLs) only. `sandbox` gives the document an opaque origin.
PAGE_POLICY = (
    "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)

# Published pages also offer downloads (the notebook, its results), which a sandboxed document
# may start only when allowed to.
PUBLISHED_PAGE_POLICY = PAGE_POLICY.replace("sandbox;", "sandbox allow-downloads;", 1)


def render_notebook_html(notebook: dict[str, Any], banner: str = "", head: str = "") -> str:
    """The notebook as a complete HTML page in JupyterLab's look (nbconvert's `lab` template),
    with `banner` (already escaped HTML) at the top of the body and `head` added to the head.
    Blocking."""
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab")
    page, _ = exporter.from_notebook_node(nbformat.from_dict(notebook))
    page = str(page)
    if head:
        page = page.replace("</head>", head + "</head>", 1)
    if banner:
        start = page.find(">", page.find("<body")) + 1
        page = page[:start] + banner + page[start:]
    return page


async def render_in_thread(
    notebook: dict[str, Any], banner: str = "", head: str = "", time_limit: float = 60.0
) -> str:
    try:
        return await asyncio.wait_for(
            asyncio.to_thread(render_notebook_html, notebook, banner, head), time_limit
        )
    except asyncio.TimeoutError:
        raise NJError(
            504,
            "render-timeout",
            f"Rendering this notebook took longer than {time_limit:.0f} s "
            "(NJApp.sharing_render_timeout).",
        ) from None


def banner_html(title: str, detail: str) -> str:
    """The strip above a shared page: what it is and that it is read-only."""
    return (
        '<div class="jp-nj-SharedBanner" style="font: 13px system-ui, sans-serif; '
        "padding: 8px 16px; background: #fff8e1; border-bottom: 1px solid #e0c36b; "
        'color: #5d4300;">'
        f"<strong>{html.escape(title)}</strong> · {html.escape(detail)}</div>"
    )


def message_page(status: int, title: str, message: str) -> str:
    """A plain page for a link that does not (or no longer does) work."""
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>"
        f"{html.escape(title)}</title></head><body style='font: 15px system-ui, sans-serif; "
        f"margin: 15vh auto; max-width: 36em'><h1>{html.escape(title)}</h1>"
        f"<p>{html.escape(message)}</p><p style='color:#777'>HTTP {status}</p></body></html>"
    )
