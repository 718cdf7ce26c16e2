"""Client address of the current request."""

from flask import request


def client_address() -> str:
    """Return the client's IP address.

    ``ProxyFix`` rewrites ``remote_addr`` from X-Forwarded-For only when
    TRUSTED_PROXY_COUNT is set, so a client cannot spoof its address otherwise.
    """
    return request.remote_addr or "unknown"
