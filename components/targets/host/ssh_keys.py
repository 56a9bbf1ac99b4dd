"""SSH key text: public halves and fingerprints, pure functions.

Python's standard library cannot make or read ed25519 keys, but the public
half of an OpenSSH private key is stored unencrypted in its header
(PROTOCOL.key in OpenSSH's source), and a fingerprint is a sha256 of the
public key blob (what `ssh-keygen -l` prints).
"""

from __future__ import annotations

import base64
import binascii
import hashlib

PRIVATE_KEY_BEGIN = "-----BEGIN OPENSSH PRIVATE KEY-----"
PRIVATE_KEY_END = "-----END OPENSSH PRIVATE KEY-----"
_MAGIC = b"openssh-key-v1\0"

# Run once by a local Command: a fresh ed25519 host key, private then public,
# on stdout (a secret output), written in a private temporary directory that
# is removed whatever happens. Nothing secret is on the command line.
GENERATE_HOST_KEY = (
    "set -e; umask 077; dir=$(mktemp -d); trap 'rm -rf \"$dir\"' EXIT; "
    "ssh-keygen -q -t ed25519 -N '' -C whatsapp-miner-host -f \"$dir/key\"; "
    "cat \"$dir/key\" \"$dir/key.pub\""
)


def _string(data: bytes, offset: int) -> tuple[bytes, int]:
    """An RFC 4251 `string` at OFFSET, and the offset after it."""
    length = int.from_bytes(data[offset:offset + 4], "big")
    end = offset + 4 + length
    if end > len(data):
        raise ValueError("truncated key data")
    return data[offset + 4:end], end


def public_key_of_private(private_key: str) -> str:
    """`TYPE BASE64` of an OpenSSH-format private key (encrypted or not)."""
    text = private_key.strip()
    if not (text.startswith(PRIVATE_KEY_BEGIN) and text.endswith(PRIVATE_KEY_END)):
        raise ValueError(f"not an OpenSSH private key (expected {PRIVATE_KEY_BEGIN!r}; "
                         "convert with `ssh-keygen -p -f KEY`)")
    body = "".join(text[len(PRIVATE_KEY_BEGIN):-len(PRIVATE_KEY_END)].split())
    try:
        data = base64.b64decode(body, validate=True)
    except binascii.Error:
        raise ValueError("the private key's body is not base64") from None
    if not data.startswith(_MAGIC):
        raise ValueError("not an openssh-key-v1 private key")
    offset = len(_MAGIC)
    for _ in ("cipher", "kdf", "kdf options"):
        _, offset = _string(data, offset)
    if int.from_bytes(data[offset:offset + 4], "big") != 1:
        raise ValueError("expected exactly one key in the private key file")
    blob, _ = _string(data, offset + 4)
    key_type, _ = _string(blob, 0)
    return f"{key_type.decode()} {base64.b64encode(blob).decode()}"


def split_generated_host_key(stdout: str) -> tuple[str, str]:
    """(private key, `TYPE BASE64` public key) from GENERATE_HOST_KEY's output."""
    private, marker, public = stdout.partition(PRIVATE_KEY_END)
    if not marker or len(public.split()) < 2:
        raise ValueError("host key generation printed no key pair")
    key_type, key_data = public.split()[:2]
    return private + marker + "\n", f"{key_type} {key_data}"


def fingerprint(public_key: str) -> str:
    """`SHA256:...` of a `TYPE BASE64 [comment]` public key, as `ssh-keygen -l` shows it."""
    blob = base64.b64decode(public_key.split()[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
