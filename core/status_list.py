"""W3C Bitstring Status Lists: which certificates are revoked or suspended, published signed.

Stand-in written on branch i-lifecycle against the signatures fixed in the certificate brief;
the signing work's version (branch i-signing) replaces it when merged.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
from collections.abc import Iterable

from core.signing import CouncilKeys, issuer_id, sign_jwt

# 16 KiB of bits: the minimum the specification asks for, so a list says little about any one.
DEFAULT_SIZE = 131072
STATUS_PATH = "/credentials/status/"


def encode_status_list(set_bits: Iterable[int], size: int = DEFAULT_SIZE) -> str:
    """The multibase (base64url, "u") GZIP of a bitstring whose given indexes are 1 (MSB first)."""
    bits = bytearray(size // 8)
    for index in set_bits:
        if not 0 <= index < size:
            raise ValueError(f"status list index {index} outside 0..{size - 1}")
        bits[index // 8] |= 0x80 >> (index % 8)
    # mtime=0: the same bits always give the same bytes, so the signed list is the same too.
    packed = gzip.compress(bytes(bits), mtime=0)
    return "u" + base64.urlsafe_b64encode(packed).rstrip(b"=").decode("ascii")


def bit_is_set(encoded: str, index: int) -> bool:
    """Whether the bit at an index of an encoded status list is 1."""
    if not encoded.startswith("u"):
        raise ValueError("not a base64url multibase string")
    raw = encoded[1:]
    bits = gzip.decompress(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def status_list_credential(
    keys: CouncilKeys, *, base_url: str, purpose: str, encoded: str, now: dt.datetime
) -> str:
    """The status list as a BitstringStatusListCredential, signed as a VC-JWT."""
    root = base_url.rstrip("/")
    url = f"{root}{STATUS_PATH}{purpose}"
    credential = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer_id(root),
        "validFrom": now.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": purpose,
            "encodedList": encoded,
        },
    }
    return sign_jwt(keys, credential)
