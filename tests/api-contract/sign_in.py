"""Signs in to a running `kuelik serve --demo` and prints a bearer token.

    python sign_in.py BASE citizen IIN      # one-time code read from the demo's /dev/inbox
    python sign_in.py BASE staff USERNAME   # the demo staff password

Standard library only: it runs before schemathesis, in the same venv.
"""

import json
import re
import sys
import time
import urllib.request

DEMO_PASSWORD = "kuelik-demo-2025"


def call(method, url, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("content-type", "application/json")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def main():
    base, kind, who = sys.argv[1:4]
    api = base.rstrip("/") + "/api/v1"
    if kind == "citizen":
        inbox = base.rstrip("/") + "/dev/inbox"
        seen = {json.dumps(m, sort_keys=True) for m in call("GET", inbox)["messages"]}
        challenge = call("POST", api + "/auth/otp", {"iin": who})["challenge_id"]
        code = None
        # The SMS goes out through the outbox worker: wait for the new message with a code.
        for _ in range(100):
            for message in call("GET", inbox)["messages"]:
                found = re.search(r"\b(\d{6})\b", message["text"])
                if json.dumps(message, sort_keys=True) not in seen and found:
                    code = found.group(1)
                    break
            if code:
                break
            time.sleep(0.1)
        if code is None:
            sys.exit("no one-time code arrived in the demo inbox")
        body = {"challenge_id": challenge, "code": code, "mode": "token"}
        session = call("POST", api + "/auth/session", body)
    else:
        body = {"username": who, "password": DEMO_PASSWORD, "mode": "token"}
        session = call("POST", api + "/auth/staff-session", body)
    print(session["token"])


if __name__ == "__main__":
    main()
