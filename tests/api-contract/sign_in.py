"""Signs in to a running `kuelik serve --demo` and prints a bearer token.

    python sign_in.py BASE citizen IIN      # one-time code read from the demo's /dev/inbox
    python sign_in.py BASE staff USERNAME   # the demo staff password

Standard library only: it runs before schemathesis, in the same venv.
"""

import json
import re
import sys
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
        challenge = call("POST", api + "/auth/otp", {"iin": who})["challenge_id"]
        inbox = call("GET", base.rstrip("/") + "/dev/inbox")["messages"]
        text = json.dumps(inbox[0], ensure_ascii=False)
        code = re.search(r"\b(\d{6})\b", text).group(1)
        body = {"challenge_id": challenge, "code": code, "mode": "token"}
        session = call("POST", api + "/auth/session", body)
    else:
        body = {"username": who, "password": DEMO_PASSWORD, "mode": "token"}
        session = call("POST", api + "/auth/staff-session", body)
    print(session["token"])


if __name__ == "__main__":
    main()
