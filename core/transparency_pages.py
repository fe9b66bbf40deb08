"""The transparency log as published: the signed tree head and its history, and the API of
leaves and proofs (/api/v1/transparency)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from core import transparency
from core.api import ERROR_RESPONSES
from core.auth import Now
from core.db import get_session
from core.documents import content_etag
from core.downloads import document_response
from core.signing import CouncilKeys
from core.web import council_keys

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1/transparency", tags=["transparency"], responses=ERROR_RESPONSES)

DbSession = Annotated[Session, Depends(get_session)]
Keys = Annotated[CouncilKeys, Depends(council_keys)]
# Leaf indexes and tree sizes: bounded, so an absurd number is a 422, not an integer overflow.
Size = Annotated[int, Query(ge=0, le=2_000_000_000)]
OptionalSize = Annotated[int | None, Query(ge=1, le=2_000_000_000)]
OPEN = {"Access-Control-Allow-Origin": "*"}  # monitors and verifiers run anywhere


def _json(request: Request, value: object) -> Response:
    body = json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
    return document_response(
        request,
        body,
        etag=content_etag(body),
        media_type="application/json",
        shared=True,
        vary=None,
        headers=OPEN,
    )


@pages.get("/transparency/sth")
def signed_tree_head(request: Request, session: DbSession, keys: Keys, now: Now) -> Response:
    """The log's current signed tree head (JSON)."""
    head = transparency.current_tree_head(session, keys, now=now)
    return _json(request, transparency.tree_head_document(head))


@pages.get("/transparency/sth/history")
def signed_tree_heads(request: Request, session: DbSession) -> Response:
    """Every tree head signed, newest first (JSON), so monitors can check any two agree."""
    heads = transparency.tree_head_history(session)
    return _json(request, {"tree_heads": [transparency.tree_head_document(h) for h in heads]})


class LeafOut(BaseModel):
    """One log entry: its leaf input (base64; SHA-256 of 0x00 and it is the leaf hash)."""

    index: int
    kind: str
    data: dict[str, object]
    leaf_input: str
    leaf_hash: str
    appended_at: dt.datetime


class LeavesOut(BaseModel):
    """A run of consecutive log entries."""

    tree_size: int = Field(description="How many entries the log holds now.")
    leaves: list[LeafOut]


class InclusionOut(BaseModel):
    """An audit path (RFC 9162 2.1.3) from an entry to the root of a tree of `tree_size`."""

    leaf_index: int
    tree_size: int
    root_hash: str
    leaf_hash: str
    audit_path: list[str]
    leaf: LeafOut


class CertificateProofsOut(BaseModel):
    """The inclusion proofs of every event of a certificate, in the same tree."""

    number: str
    tree_size: int
    root_hash: str
    proofs: list[InclusionOut]


class ConsistencyOut(BaseModel):
    """A consistency proof (RFC 9162 2.1.4): the first tree is a prefix of the second."""

    first: int
    second: int
    consistency: list[str]


def _leaf(leaf: transparency.LogLeaf) -> LeafOut:
    return LeafOut.model_validate(transparency.leaf_document(leaf))


def _inclusion(proof: transparency.InclusionProof) -> InclusionOut:
    return InclusionOut(
        leaf_index=proof.leaf.index,
        tree_size=proof.tree_size,
        root_hash=transparency.b64(proof.root_hash),
        leaf_hash=transparency.b64(bytes.fromhex(proof.leaf.leaf_hash)),
        audit_path=[transparency.b64(node) for node in proof.path],
        leaf=_leaf(proof.leaf),
    )


@api.get("/leaves")
def log_leaves(session: DbSession, start: Size = 0, end: OptionalSize = None) -> LeavesOut:
    """Log entries from `start` up to, not including, `end` (at most 1,000 per call)."""
    found = transparency.leaf_range(session, start=start, end=end)
    return LeavesOut(
        tree_size=transparency.log_size(session), leaves=[_leaf(leaf) for leaf in found]
    )


@api.get("/proof/inclusion")
def inclusion_proof(
    session: DbSession, leaf_index: Size, tree_size: OptionalSize = None
) -> InclusionOut:
    """The inclusion proof of an entry in the tree of `tree_size` entries (default: all)."""
    return _inclusion(
        transparency.prove_inclusion(session, leaf_index=leaf_index, tree_size=tree_size)
    )


@api.get("/proof/certificate/{number}")
def certificate_proofs(
    session: DbSession, number: str, tree_size: OptionalSize = None
) -> CertificateProofsOut:
    """The inclusion proofs of every event the log holds of a certificate."""
    proofs = transparency.prove_certificate(session, number=number, tree_size=tree_size)
    return CertificateProofsOut(
        number=number,
        tree_size=proofs[0].tree_size,
        root_hash=transparency.b64(proofs[0].root_hash),
        proofs=[_inclusion(proof) for proof in proofs],
    )


@api.get("/proof/consistency")
def consistency_proof(
    session: DbSession, first: Size, second: OptionalSize = None
) -> ConsistencyOut:
    """The proof that the tree of `first` entries is a prefix of the tree of `second`."""
    path = transparency.prove_consistency(session, first=first, second=second)
    return ConsistencyOut(
        first=first,
        second=second or transparency.log_size(session),
        consistency=[transparency.b64(node) for node in path],
    )
