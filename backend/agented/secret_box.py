"""Encrypting secrets at rest (webhook secrets, accounts' variables) with a key from SECRET_KEY.

Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`) with its key derived by
HKDF-SHA256, so the stored token is authenticated: a changed SECRET_KEY makes
decryption fail loudly rather than yield garbage.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_INFO = b"agented secrets at rest v1"


class SecretDecryptionError(RuntimeError):
    """A stored secret cannot be decrypted with the current SECRET_KEY."""


class SecretBox:
    def __init__(self, secret_key: str) -> None:
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(
            secret_key.encode()
        )
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def seal(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode("ascii")

    def open(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode()
        except (InvalidToken, ValueError):
            raise SecretDecryptionError(
                "a stored secret cannot be decrypted: SECRET_KEY differs from the one it was "
                "stored with"
            ) from None


def check_opens(box: SecretBox, what: str, sealed: Mapping[str, str]) -> None:
    """Raise, naming the owners, unless every sealed secret (by owner's name) opens with `box`.

    `what` names the secrets, with `{count}` for how many owners' do not open.
    """
    broken = []
    for owner, token in sealed.items():
        try:
            box.open(token)
        except SecretDecryptionError:
            broken.append(owner)
    if broken:
        raise SecretDecryptionError(
            f"{what.format(count=len(broken))} ({', '.join(broken[:5])}) cannot be "
            "decrypted with the current SECRET_KEY. If the key changed, re-encrypt them: "
            "uv run --project backend python -m agented.rekey --old-key-file OLD_KEY_FILE"
        )
