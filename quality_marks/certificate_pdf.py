"""A certificate's two signed forms: the Open Badges 3.0 credential and the PDF/A-3 document."""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
from pathlib import Path
from typing import Any

import segno
from markupsafe import Markup

from core.errors import N_
from core.i18n import DISPLAY_ZONE, translator
from core.pdf import EmbeddedFile, render_archival_pdf
from core.signing import CouncilKeys, issuer_id, sign_jwt, sign_pdf
from core.status_list import credential_status
from core.templating import render_text

# Bumped whenever the certificate's template or credential changes what a reader sees.
TEMPLATE_VERSION = "certificate-2026.3"
TEMPLATE = "quality_marks/certificate.pdf.html"
SIDE_TEMPLATE = "quality_marks/_certificate_side.html"
SEAL = Path(__file__).resolve().parent.parent / "static" / "certificates" / "seal.svg"
VC_CONTEXTS = [
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
]
STATUS_PURPOSES = ("revocation", "suspension")
COUNCIL_NAME = N_("AI Ethics Council of Mexico")
SEAL_ALT = N_("Seal of the AI Ethics Council of Mexico")
VERIFY_AT = N_("Scan the code or open the address to check that this certificate is in force.")
MARK_NAME = N_("AI ethics quality mark, level %(level)s")
MARK_DESCRIPTION = N_(
    "The product meets the criteria of the guideline %(guideline)s, version %(version)s, "
    "at level %(level)s, as the council decided by resolution %(resolution)s."
)
CRITERIA_NARRATIVE = N_(
    "Assessed against every applicable criterion of the guideline version by independent "
    "reviewers; decided by a ballot of the council."
)
LEVEL_LABELS = {
    "A": N_("Level A: full conformity"),
    "B": N_("Level B: conformity with minor observations"),
}
PDF_REASON = "Certificado del Consejo de Ética de la Inteligencia Artificial"
PDF_LOCATION = "Ciudad de México"


def _day_start(day: str) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(), DISPLAY_ZONE)


def _timestamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_credential(payload: dict[str, Any], *, base_url: str) -> dict[str, Any]:
    """The OpenBadgeCredential stating the certificate, as its VC-JWT's claims carry it."""
    base = base_url.rstrip("/")
    es, en = translator("es_MX"), translator("en")
    params = {
        "level": payload["level"],
        "guideline": payload["guideline_title"],
        "version": payload["guideline_version"],
        "resolution": payload["resolution"],
    }
    valid_from = _day_start(payload["valid_from"])
    # In force through the whole last day, on the Mexico City calendar.
    valid_until = _day_start(payload["valid_until"]) + dt.timedelta(days=1, seconds=-1)
    credential_id = f"{base}/verify/{payload['number']}"
    subject_id = f"urn:ceia:product:{payload['product_identifier']}"
    return {
        "@context": VC_CONTEXTS,
        "id": credential_id,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {
            "id": issuer_id(base),
            "type": ["Profile"],
            "name": es.gettext(COUNCIL_NAME),
            "url": base,
        },
        "name": f"{payload['number']}: {es.gettext(MARK_NAME, level=payload['level'])}",
        "validFrom": _timestamp(valid_from),
        "validUntil": _timestamp(valid_until),
        "credentialSubject": {
            "id": subject_id,
            "type": ["AchievementSubject"],
            "name": payload["product_name"],
            "identifier": [
                {
                    "type": "IdentityObject",
                    "identityType": "identifier",
                    "hashed": False,
                    "identityHash": payload["product_identifier"],
                }
            ],
            "achievement": {
                "id": f"{base}/marks/levels#level-{payload['level']}",
                "type": ["Achievement"],
                "achievementType": "Certificate",
                "name": es.gettext(MARK_NAME, level=payload["level"]),
                "description": es.gettext(MARK_DESCRIPTION, **params),
                "criteria": {
                    "id": payload["guideline_url"],
                    "narrative": es.gettext(CRITERIA_NARRATIVE),
                },
                "inLanguage": "es-MX",
            },
            "result": [{"type": ["Result"], "value": payload["level"]}],
        },
        "evidence": [
            {
                "id": credential_id,
                "type": ["Evidence"],
                "name": en.gettext(COUNCIL_NAME),
                "description": payload["resolution"],
                "narrative": es.gettext(MARK_DESCRIPTION, **params),
            }
        ],
        "credentialStatus": [
            credential_status(
                base_url=base_url, purpose=purpose, index=payload["status_list_index"]
            )
            for purpose in STATUS_PURPOSES
        ],
    }


def credential_claims(credential: dict[str, Any]) -> dict[str, Any]:
    """The VC-JWT claims: the credential itself plus the JWT names for who, which and when."""
    starts = dt.datetime.fromisoformat(credential["validFrom"].replace("Z", "+00:00"))
    ends = dt.datetime.fromisoformat(credential["validUntil"].replace("Z", "+00:00"))
    return {
        **credential,
        "iss": credential["issuer"]["id"],
        "sub": credential["credentialSubject"]["id"],
        "jti": credential["id"],
        "nbf": int(starts.timestamp()),
        "exp": int(ends.timestamp()),
    }


def sign_credential(keys: CouncilKeys, payload: dict[str, Any], *, base_url: str) -> str:
    """The certificate's credential signed as a VC-JWT with the council's current key."""
    return sign_jwt(keys, credential_claims(build_credential(payload, base_url=base_url)))


@functools.lru_cache(maxsize=1)
def _seal_uri() -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(SEAL.read_bytes()).decode()


def _side(locale: str, payload: dict[str, Any]) -> Markup:
    tr = translator(locale)
    return Markup(
        render_text(
            SIDE_TEMPLATE,
            tr,
            p=payload,
            html_lang=tr.html_lang,
            level_label=LEVEL_LABELS.get(payload["level"], payload["level"]),
            decided_on=dt.date.fromisoformat(payload["decided_on"]),
            issued_on=dt.date.fromisoformat(payload["issued_on"]),
            valid_from=dt.date.fromisoformat(payload["valid_from"]),
            valid_until=dt.date.fromisoformat(payload["valid_until"]),
        )
    )


def certificate_html(payload: dict[str, Any]) -> str:
    """The certificate's printable HTML: Spanish first, then English, the seal and the QR code."""
    es, en = translator("es_MX"), translator("en")
    qr = segno.make(payload["verify_url"], error="m")
    return render_text(
        TEMPLATE,
        es,
        p=payload,
        template_version=TEMPLATE_VERSION,
        sides=[_side("es_MX", payload), _side("en", payload)],
        seal_uri=_seal_uri(),
        seal_alt=es.gettext(SEAL_ALT),
        qr_uri=qr.svg_data_uri(scale=4, border=2),
        council_es=es.gettext(COUNCIL_NAME),
        council_en=en.gettext(COUNCIL_NAME),
        verify_es=es.gettext(VERIFY_AT),
        verify_en=en.gettext(VERIFY_AT),
    )


def render_certificate(payload: dict[str, Any], credential: str) -> bytes:
    """The unsigned PDF/A-3b certificate carrying its credential (the JWT and its JSON)."""
    claims = json.loads(base64.urlsafe_b64decode(_padded(credential.split(".")[1])))
    return render_archival_pdf(
        certificate_html(payload),
        attachments=[
            EmbeddedFile("credential.jwt", credential.encode(), "Open Badges 3.0 VC-JWT"),
            EmbeddedFile(
                "credential.json",
                json.dumps(claims, ensure_ascii=False, indent=2).encode(),
                "Open Badges 3.0 credential (decoded, unsigned copy)",
                relationship="Alternative",
            ),
        ],
    )


def _padded(segment: str) -> str:
    return segment + "=" * (-len(segment) % 4)


def signed_certificate(keys: CouncilKeys, payload: dict[str, Any], credential: str) -> bytes:
    """The certificate PDF with the council's PAdES signature."""
    return sign_pdf(
        keys, render_certificate(payload, credential), reason=PDF_REASON, location=PDF_LOCATION
    )
