"""Signed digests: Ed25519 keys, and a signature over a digest's canonical bytes.

Whoever can rewrite the database can rewrite a digest kept next to it; a digest
signed with a key kept elsewhere cannot be rewritten without the key. The
signature covers the canonical serialisation (``ledger.chain``) of the digest
document without its ``signature`` (``created_at`` and ``verified`` included).
Keys are PEM files: the private key PKCS#8 (written with mode 0600), the public
key SubjectPublicKeyInfo (``FILE.pub``).
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from agreement_ledger.ledger.chain import canonical_bytes
from agreement_ledger.ledger.errors import InvalidArgument

ALGORITHM = "ed25519"
UNSIGNED_KEYS = ("signature",)
"""Everything else is signed, ``created_at`` too: the signer vouches for when it was taken."""


def keygen(path: Path) -> Path:
    """Write a new key pair: ``path`` (private, mode 0600) and ``path.pub``; return the latter."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(private)
    public_path = path.with_name(path.name + ".pub")
    public_path.write_bytes(public)
    return public_path


def load_private_key(data: bytes) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise InvalidArgument("not an unencrypted PEM private key (see `ledger keygen`)") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidArgument("the private key is not an Ed25519 key")
    return key


def load_public_key(data: bytes) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        raise InvalidArgument("not a PEM public key (see `ledger keygen`, FILE.pub)") from None
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidArgument("the public key is not an Ed25519 key")
    return key


def signed_bytes(document: dict[str, Any]) -> bytes:
    return canonical_bytes({k: v for k, v in document.items() if k not in UNSIGNED_KEYS})


def sign(document: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    """The digest with its signature."""
    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return {
        **document,
        "signature": {
            "algorithm": ALGORITHM,
            "public_key": base64.b64encode(public).decode("ascii"),
            "value": base64.b64encode(key.sign(signed_bytes(document))).decode("ascii"),
        },
    }


def signature_problem(document: dict[str, Any], key: Ed25519PublicKey) -> str | None:
    """Why the digest's signature does not hold for ``key``, or ``None`` when it does."""
    signature = document.get("signature")
    if not isinstance(signature, dict) or signature.get("algorithm") != ALGORITHM:
        return "the digest is not signed (no Ed25519 signature)"
    mine = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    named = str(signature.get("public_key"))
    if named != base64.b64encode(mine).decode("ascii"):
        return (
            "the digest's signature does not match: it was signed with another key "
            "than the one given"
        )
    try:
        value = base64.b64decode(str(signature.get("value")), validate=True)
        key.verify(value, signed_bytes(document))
    except (ValueError, InvalidSignature):
        return "the digest's signature does not match: the digest was altered after it was signed"
    return None
