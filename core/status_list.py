"""W3C Bitstring Status List: one bit per credential saying whether it is revoked or suspended.

A verifier downloads the council's signed status list credential once and looks up the bit at
the index a credential names, so checking a certificate's status reveals nothing about which
certificate is being checked (https://www.w3.org/TR/vc-bitstring-status-list/).
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import zlib
from collections.abc import Iterable
from typing import Any

from core.signing import OB3_CONTEXT, CouncilKeys, issuer_id, sign_jwt

# The specification's minimum: 16 KiB of bits, so a list hides which few credentials it holds.
DEFAULT_SIZE = 131072
PURPOSES = frozenset({"revocation", "suspension"})
STATUS_LIST_PATH = "/credentials/status/{purpose}"
# A list larger than this (decompressed) is refused: an uploaded credential must not be a zip bomb.
MAX_LIST_BYTES = 16 * 1024 * 1024
# Multibase prefix of base64url without padding, which the specification requires.
MULTIBASE_BASE64URL = "u"


def encode_status_list(set_bits: Iterable[int], size: int = DEFAULT_SIZE) -> str:
    """The `encodedList` of a bitstring of `size` bits with exactly `set_bits` set.

    Bit 0 is the most significant bit of the first byte; the bytes are GZIP-compressed, then
    base64url without padding, with the multibase prefix "u".
    """
    if size <= 0 or size % 8:
        raise ValueError("the size of a status list is a positive multiple of 8 bits")
    bits = bytearray(size // 8)
    for index in set_bits:
        if not 0 <= index < size:
            raise ValueError(f"status list index {index} is outside 0..{size - 1}")
        bits[index // 8] |= 0x80 >> (index % 8)
    # mtime=0: the same bits always give the same bytes, so the signed list's ETag is stable.
    compressed = gzip.compress(bytes(bits), mtime=0)
    return MULTIBASE_BASE64URL + base64.urlsafe_b64encode(compressed).rstrip(b"=").decode("ascii")


def decode_status_list(encoded: str) -> bytes:
    """The bitstring of an `encodedList` (ValueError when it is not one)."""
    text = encoded.removeprefix(MULTIBASE_BASE64URL)
    try:
        compressed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        # wbits 16+: a GZIP wrapper; max_length bounds what a hostile list may expand to.
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        bits = inflater.decompress(compressed, MAX_LIST_BYTES)
    except (ValueError, zlib.error) as error:
        raise ValueError("not an encoded status list") from error
    if inflater.unconsumed_tail or not inflater.eof:
        raise ValueError("the status list is truncated or too large")
    return bits


def bit_is_set(encoded: str, index: int) -> bool:
    """Whether the bit at `index` of an `encodedList` is set (IndexError past its end)."""
    bits = decode_status_list(encoded)
    if not 0 <= index < len(bits) * 8:
        raise IndexError(f"status list index {index} is outside the list")
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def status_list_url(base_url: str, purpose: str) -> str:
    """Where the council publishes its status list credential of one purpose."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown status purpose {purpose!r}")
    return base_url.rstrip("/") + STATUS_LIST_PATH.format(purpose=purpose)


def credential_status(*, base_url: str, purpose: str, index: int) -> dict[str, Any]:
    """The `credentialStatus` entry that points a credential at its bit in a status list."""
    url = status_list_url(base_url, purpose)
    return {
        "id": f"{url}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": purpose,
        "statusListIndex": str(index),
        "statusListCredential": url,
    }


def status_list_credential(
    keys: CouncilKeys, *, base_url: str, purpose: str, encoded: str, now: dt.datetime
) -> str:
    """The council's signed `BitstringStatusListCredential` (a VC-JWT) of one purpose."""
    url = status_list_url(base_url, purpose)
    issued = now.astimezone(dt.UTC).replace(microsecond=0)
    credential = {
        "@context": [OB3_CONTEXT[0]],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer_id(base_url),
        "validFrom": issued.isoformat().replace("+00:00", "Z"),
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": purpose,
            "encodedList": encoded,
        },
        # Registered JWT claims, for JOSE libraries that know nothing of credentials.
        "iss": issuer_id(base_url),
        "iat": int(issued.timestamp()),
        "jti": url,
    }
    return sign_jwt(keys, credential, typ="vc+jwt")
