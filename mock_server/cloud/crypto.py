"""The documented login cryptography, and the JWTs the simulator issues.

Password scheme (emailPwdLogin / phonePwdLogin pages): AES-128-CBC with PKCS5 padding and
Base64 output; key = characters 8..24 of the upper-case hex MD5 of `random`; iv = the key
with its two 8-character halves swapped. The signature is the hex SHA-256 of the account,
the encrypted `pwd`, `random` and the user domain's secret, concatenated.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import uuid
from typing import TYPE_CHECKING

# jwt and cryptography are imported where they are used: they cost a third of the start-up
# time, and the first request (or a run without a login) needs neither.
if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import rsa


def key_and_iv(random: str) -> tuple[bytes, bytes]:
    key = hashlib.md5(random.encode("utf-8")).hexdigest().upper()[8:24]
    iv = key[8:] + key[:8]
    return key.encode("ascii"), iv.encode("ascii")


def encrypt_password(password: str, random: str) -> str:
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    key, iv = key_and_iv(random)
    padder = padding.PKCS7(128).padder()
    data = padder.update(password.encode("utf-8")) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return base64.b64encode(encryptor.update(data) + encryptor.finalize()).decode("ascii")


def decrypt_password(pwd: str, random: str) -> str | None:
    """The plain password, or None when `pwd` is not a valid ciphertext for this random.
    Whitespace is ignored: Android's Base64.DEFAULT ends the text with a newline."""
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    key, iv = key_and_iv(random)
    try:
        raw = base64.b64decode("".join(pwd.split()), validate=True)
        decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
        padded = decryptor.update(raw) + decryptor.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        return (unpadder.update(padded) + unpadder.finalize()).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None


def signature(*parts: str) -> str:
    return hashlib.sha256("".join(parts).encode("utf-8")).hexdigest()


@functools.cache
def _signing_key() -> rsa.RSAPrivateKey:
    from cryptography.hazmat.primitives.asymmetric import rsa

    # One key per process, made on the first login: tokens are looked up in the cloud, so
    # the key only makes them well-formed RS256 JWTs like the real ones.
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def issue_jwt(uid: str, kind: str, issued_ms: int, expires_ms: int) -> str:
    import jwt

    iat = issued_ms // 1000
    claims = {
        "iss": "enduser",
        "aud": "Audience",
        "sub": "subject",
        "uid": uid,
        "type": "AccessToken" if kind == "access" else "RefreshToken",
        "jti": uuid.uuid4().hex,
        "iat": iat,
        "nbf": iat - 120,
        "exp": expires_ms // 1000,
    }
    return jwt.encode(claims, _signing_key(), algorithm="RS256")
