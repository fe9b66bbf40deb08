"""PDF rendering of print documents (guideline versions, reports, certificates) with WeasyPrint."""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from weasyprint import CSS, HTML, Attachment, URLFetcher
from weasyprint.text.fonts import FontConfiguration

# Documents may load local files (the site's static assets) and inline data, never the network:
# their text comes from users, and a link must not become a request made by the server.
ALLOWED_PROTOCOLS = frozenset({"file", "data"})

# One FontConfiguration per process holds Fontconfig state that WeasyPrint mutates while it
# registers @font-face rules; renders take turns rather than share it concurrently.
_render_lock = threading.Lock()


@functools.lru_cache(maxsize=1)
def font_configuration() -> FontConfiguration:
    """The process's font configuration, built once (loading the system fonts is slow)."""
    return FontConfiguration()


def render_pdf(
    html: str, *, base_url: str | None = None, stylesheets: list[str] | None = None
) -> bytes:
    """An HTML document (and extra CSS sources) as tagged, accessible PDF bytes."""
    font_config = font_configuration()
    fetcher = URLFetcher(allowed_protocols=ALLOWED_PROTOCOLS)
    with _render_lock:
        document = HTML(string=html, base_url=base_url, url_fetcher=fetcher)
        sheets = [
            CSS(string=source, base_url=base_url, url_fetcher=fetcher, font_config=font_config)
            for source in stylesheets or []
        ]
        pdf: bytes = document.write_pdf(stylesheets=sheets, font_config=font_config, pdf_tags=True)
    return pdf


@dataclass(frozen=True)
class EmbeddedFile:
    """A file carried inside a PDF/A-3 document (a certificate's credential)."""

    name: str
    data: bytes
    description: str
    # How the file relates to the document (PDF/A-3's AFRelationship): Source, Data, Alternative...
    relationship: str = "Data"


def render_archival_pdf(
    html: str, *, attachments: Sequence[EmbeddedFile] = (), base_url: str | None = None
) -> bytes:
    """An HTML document as tagged PDF/A-3b, carrying the given files (kept for the long term)."""
    font_config = font_configuration()
    fetcher = URLFetcher(allowed_protocols=ALLOWED_PROTOCOLS)
    with _render_lock:
        document = HTML(string=html, base_url=base_url, url_fetcher=fetcher)
        files = [
            Attachment(
                string=item.data,
                name=item.name,
                description=item.description,
                relationship=item.relationship,
                url_fetcher=fetcher,
            )
            for item in attachments
        ]
        pdf: bytes = document.write_pdf(
            font_config=font_config,
            pdf_tags=True,
            pdf_variant="pdf/a-3b",
            attachments=files,
        )
    return pdf
