"""Secrets of one Doppler config, read with its service token.

Replaces dopplerhq/secrets-fetch-action, whose pinned commit no source here
could tie to a release. One call, the one https://docs.doppler.com/reference/api
shows: `GET /v3/configs/config/secrets/download?format=json` with the service
token as Bearer. It answers one flat JSON object, secret name -> value, and an
error as `{"messages": [...]}`: the shapes that action's own `doppler.js` read
from this endpoint (tags v1.0.0 to v1.1.3).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

API_URL = "https://api.doppler.com/v3/configs/config/secrets/download?format=json"
# What `doppler run` sets beside the secrets: where they come from (not secret).
ORIGIN_VARIABLES = ("DOPPLER_ENVIRONMENT", "DOPPLER_CONFIG")


class DopplerError(RuntimeError):
    """The download failed; the message never holds the token or a value."""


def download(token: str, url: str = API_URL, timeout: float = 30) -> dict[str, str]:
    """Every secret of the token's config, name -> value."""
    # The token goes over TLS only; plain http only to this machine (the tests' stand-in).
    if not url.startswith(("https://", "http://127.0.0.1:")):
        raise DopplerError(f"refusing to send the token to {url}")
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})  # noqa: S310 (scheme checked above)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (scheme checked above)
            body = response.read()
    except urllib.error.HTTPError as error:
        raise DopplerError(f"Doppler answered {error.code}: {_messages(error.read())}") from None
    except urllib.error.URLError as error:
        raise DopplerError(f"Doppler could not be reached: {error.reason}") from None
    try:
        secrets = json.loads(body)
    except ValueError:
        raise DopplerError("Doppler's answer is not JSON") from None
    if not isinstance(secrets, dict) or not all(isinstance(v, str) for v in secrets.values()):
        raise DopplerError("Doppler's answer is not a flat object of secret names and values")
    return secrets


def _messages(body: bytes) -> str:
    """Doppler's error messages, or nothing when the body is not its error shape."""
    try:
        return " ".join(str(message) for message in json.loads(body)["messages"])
    except (ValueError, KeyError, TypeError):
        return "(no error message)"


def names_environment(variable: str, value: str, environment: str) -> bool:
    """Whether Doppler's VARIABLE=VALUE (one of ORIGIN_VARIABLES) is ENVIRONMENT's:
    the environment itself, or one of its configs (the root config carries the
    environment's name, a branch config `<environment>_<branch>`, e.g. `dev_personal`)."""
    return value == environment or (variable == "DOPPLER_CONFIG" and value.startswith(f"{environment}_"))
