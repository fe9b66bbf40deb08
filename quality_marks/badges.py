"""The embeddable badge of a certificate: an SVG image that shows where it stands today."""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape

from core.errors import N_
from core.i18n import Translator
from quality_marks.certificate_models import CertificateStatus

# Roughly the advance of one character of the badge's font, to size its parts to their text.
CHAR_WIDTH = 6.6
HEIGHT = 20


@dataclass(frozen=True)
class BadgeLook:
    """What a badge says on its right side and in which colour, for one status."""

    text: str  # msgid
    colour: str


LOOKS = {
    CertificateStatus.valid: BadgeLook(N_("Valid · level %(level)s"), "#1a7f37"),
    CertificateStatus.suspended: BadgeLook(N_("SUSPENDED"), "#b35900"),
    CertificateStatus.withdrawn: BadgeLook(N_("Withdrawn · not valid"), "#b42318"),
    CertificateStatus.expired: BadgeLook(N_("Expired · not valid"), "#555555"),
    CertificateStatus.superseded: BadgeLook(N_("Superseded · not valid"), "#555555"),
}
MARK_TEXT = N_("AI ethics mark")


def badge_svg(tr: Translator, *, number: str, status: CertificateStatus, level: str) -> str:
    """The badge's SVG: the mark's name, then the status in words (colour only repeats them)."""
    look = LOOKS[status]
    left = tr.gettext(MARK_TEXT)
    params = {"level": level} if "%(level)s" in look.text else {}
    right = tr.gettext(look.text, **params)
    left_width = round(len(left) * CHAR_WIDTH + 12)
    right_width = round(len(right) * CHAR_WIDTH + 12)
    width = left_width + right_width
    label = escape(f"{left}: {right} ({number})")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{HEIGHT}" '
        f'viewBox="0 0 {width} {HEIGHT}" role="img" aria-label="{label}">'
        f"<title>{label}</title>"
        f'<rect width="{left_width}" height="{HEIGHT}" fill="#1f2937"/>'
        f'<rect x="{left_width}" width="{right_width}" height="{HEIGHT}" fill="{look.colour}"/>'
        '<g fill="#ffffff" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11">'
        f'<text x="6" y="14">{escape(left)}</text>'
        f'<text x="{left_width + 6}" y="14">{escape(right)}</text>'
        "</g></svg>"
    )
