"""Signs members of the demo in (Discourse's way: the token from
/session/csrf.json, then POST /session.json) and prints one session cookie
per line, for member.lua.

    python3 benches/web/members.py http://127.0.0.1:3902 8 KEYFILE > cookies.txt

The members are the demo's most active ones (/directory_items.json, read
with the server's API key in KEYFILE), all with the demo password.
"""

import json
import sys
import urllib.request

BASE, COUNT = sys.argv[1], int(sys.argv[2])
with open(sys.argv[3]) as f:
    KEY = f.read().strip()
PASSWORD = "hearth-demo-password"


def call(path, data=None, headers=None):
    req = urllib.request.Request(BASE + path, data=data, headers=headers or {})
    with urllib.request.urlopen(req) as res:
        return res.read(), res.headers


body, _ = call(
    "/directory_items.json?period=all&order=post_count",
    headers={"Api-Key": KEY, "Api-Username": "system"},
)
names = [d["user"]["username"] for d in json.loads(body)["directory_items"]]
names = [n for n in names if n != "system"][:COUNT]
if len(names) < COUNT:
    sys.exit(f"only {len(names)} members found")
for name in names:
    body, headers = call("/session/csrf.json", headers={"Accept": "application/json"})
    csrf = json.loads(body)["csrf"]
    visitor = "; ".join(c.split(";")[0] for c in headers.get_all("Set-Cookie") or [])
    form = json.dumps({"login": name, "password": PASSWORD}).encode()
    _, headers = call(
        "/session.json",
        data=form,
        headers={"Content-Type": "application/json", "X-CSRF-Token": csrf, "Cookie": visitor},
    )
    cookies = [c.split(";")[0] for c in headers.get_all("Set-Cookie") or []]
    session = [c for c in cookies if c.startswith("hearth_session=")]
    if not session:
        sys.exit(f"{name}: no session cookie")
    print(session[0])
