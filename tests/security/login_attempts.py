"""Send logins from a process of its own and print their statuses as JSON.

Usage: python -m tests.security.login_attempts CONFIG_JSON EMAIL COUNT [PASSWORD]

Without PASSWORD every login fails; with the right one every login succeeds.

The rate-limit tests run this next to their own app, to show that login
limits hold across processes only when they share a storage such as Redis.
"""

import json
import sys

from klusbank import create_app


def main() -> None:
    """Create an app from the given config and post COUNT logins for EMAIL."""
    config, email, count = json.loads(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    password = sys.argv[4] if len(sys.argv) > 4 else "wrong"
    app = create_app(config)
    statuses = []
    for _ in range(count):
        # A fresh client per login, so a successful one is not already logged in.
        response = app.test_client().post(
            "/login", data={"email": email, "password": password}
        )
        statuses.append(response.status_code)
    print(json.dumps(statuses))


if __name__ == "__main__":
    main()
