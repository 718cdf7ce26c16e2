"""Send failed logins from a process of its own and print their statuses as JSON.

Usage: python -m tests.security.login_attempts CONFIG_JSON EMAIL COUNT

The rate-limit tests run this next to their own app, to show that login
limits hold across processes only when they share a storage such as Redis.
"""

import json
import sys

from klusbank import create_app


def main() -> None:
    """Create an app from the given config and post COUNT failed logins for EMAIL."""
    config, email, count = json.loads(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    app = create_app(config)
    client = app.test_client()
    statuses = [
        client.post("/login", data={"email": email, "password": "wrong"}).status_code
        for _ in range(count)
    ]
    print(json.dumps(statuses))


if __name__ == "__main__":
    main()
