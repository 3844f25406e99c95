"""Appointment codes a device can verify offline: compact, signed with the site's Ed25519 key.

The central system signs; the device only holds the public key, so a code cannot be forged with
anything found on a device. Base32 keeps the code to characters every keyboard-wedge scanner types
alike (upper-case letters and digits) and to QR's compact alphanumeric mode.
"""

import base64
import struct
from dataclasses import dataclass
from datetime import date, time, timedelta

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

PREFIX = "EA1"  # format version 1; anything else is not ours
EPOCH = date(2020, 1, 1)  # days are counted from here in two bytes: good until 2199
SIGNATURE_BYTES = 64
MAX_TEXT = 32  # site, concern and display code are short names


@dataclass(frozen=True)
class AppointmentCode:
    """What a signed code says. No name, no e-mail: the appointment's id is enough."""

    appointment_id: int
    site: str
    day: date
    slot: time
    concern: str
    display_code: str


class CodeError(ValueError):
    """The text is not a well-formed code of ours."""


class ForgedCode(CodeError):
    """The code is well-formed but its signature does not match the site's key."""


def encode(code: AppointmentCode, key: Ed25519PrivateKey) -> str:
    body = _pack(code)
    return PREFIX + base64.b32encode(body + key.sign(body)).decode("ascii").rstrip("=")


def decode(text: str, public_keys: list[Ed25519PublicKey]) -> AppointmentCode:
    """Check and unpack ``text``; raises CodeError (not ours / unreadable) or ForgedCode."""
    text = text.strip()
    if not text.startswith(PREFIX):
        raise CodeError("not an appointment code of this system")
    data = text[len(PREFIX) :].upper()
    try:
        raw = base64.b32decode(data + "=" * (-len(data) % 8))
    except (ValueError, TypeError):
        raise CodeError("damaged: not base32") from None
    if len(raw) <= SIGNATURE_BYTES:
        raise CodeError("damaged: too short")
    body, signature = raw[:-SIGNATURE_BYTES], raw[-SIGNATURE_BYTES:]
    for key in public_keys:  # several keys: the site may roll its key over
        try:
            key.verify(signature, body)
            break
        except InvalidSignature:
            continue
    else:
        raise ForgedCode("signature does not match the site's key")
    return _unpack(body)


def _pack(code: AppointmentCode) -> bytes:
    texts = [code.site, code.concern, code.display_code]
    if any(not t or len(t.encode()) > MAX_TEXT for t in texts):
        raise ValueError(f"site, concern and display code need 1 to {MAX_TEXT} bytes")
    if not 0 <= code.appointment_id < 2**40:
        raise ValueError("appointment id out of range")
    days = (code.day - EPOCH).days
    minutes = code.slot.hour * 60 + code.slot.minute
    head = struct.pack(">Q", code.appointment_id)[3:] + struct.pack(">HH", days, minutes)
    return head + b"".join(bytes([len(t.encode())]) + t.encode() for t in texts)


def _unpack(body: bytes) -> AppointmentCode:
    try:
        appointment_id = int.from_bytes(body[:5], "big")
        days, minutes = struct.unpack(">HH", body[5:9])
        texts, offset = [], 9
        for _ in range(3):
            length = body[offset]
            texts.append(body[offset + 1 : offset + 1 + length].decode("utf-8"))
            offset += 1 + length
        if offset != len(body) or minutes >= 24 * 60:
            raise CodeError("damaged: wrong length")
    except (IndexError, struct.error, UnicodeDecodeError):
        raise CodeError("damaged: cannot be read") from None
    site, concern, display_code = texts
    return AppointmentCode(
        appointment_id, site, EPOCH + timedelta(days=days), time(minutes // 60, minutes % 60), concern, display_code
    )


def load_public_key(text: str) -> Ed25519PublicKey:
    """A PEM public key, or the raw 32-byte key in base64 (one line, as in a config file)."""
    return _load_key(text, Ed25519PublicKey, "public", lambda pem: serialization.load_pem_public_key(pem))


def load_private_key(text: str) -> Ed25519PrivateKey:
    return _load_key(
        text, Ed25519PrivateKey, "private", lambda pem: serialization.load_pem_private_key(pem, password=None)
    )


def _load_key(text: str, kind, name: str, load_pem):
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = load_pem(text.encode())
        if not isinstance(key, kind):
            raise ValueError(f"not an Ed25519 {name} key")
        return key
    raw = base64.b64decode(text, validate=True)
    if len(raw) != 32:
        raise ValueError(f"an Ed25519 {name} key has 32 bytes")
    return kind.from_public_bytes(raw) if kind is Ed25519PublicKey else kind.from_private_bytes(raw)


def public_key_text(key: Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def private_key_text(key: Ed25519PrivateKey) -> str:
    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    return base64.b64encode(raw).decode("ascii")
