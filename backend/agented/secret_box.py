"""Encrypting secrets at rest (webhook secrets) with a key derived from SECRET_KEY.

Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`) with its key derived by
HKDF-SHA256, so the stored token is authenticated: a changed SECRET_KEY makes
decryption fail loudly rather than yield garbage.
"""

from __future__ import annotations

import base64

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
