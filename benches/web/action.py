"""Round trips of a plugin action over HTTP: POST /plugins/reactions/a/react
(JSON, the global API key acting as the demo's staff and experts in turn),
one request at a time on a kept-alive connection, toggling a reaction on
the newest topics' first posts. Prints the median, p90, p99 and the
slowest, in milliseconds, and how many answers were not 200.

    python3 benches/web/action.py http://127.0.0.1:3901 KEYFILE [COUNT]

Run by benches/web/action.sh (which starts the release server).
"""

import http.client
import json
import statistics
import sys
import time
from urllib.parse import urlparse

USERS = ["sam_support", "priya_pm", "lee_eng", "olga_mentor", "raj_expert", "ken_mvp", "maya", "jules_mod"]


def main():
    base, keyfile = sys.argv[1], sys.argv[2]
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 400
    key = open(keyfile).read().strip()
    url = urlparse(base)
    conn = http.client.HTTPConnection(url.hostname, url.port)

    def get(path):
        conn.request("GET", path, headers={"Accept": "application/json"})
        r = conn.getresponse()
        return json.loads(r.read())

    topics = get("/latest.json")["topic_list"]["topics"][:20]
    posts = []
    for t in topics:
        stream = get(f"/t/{t['id']}.json")["post_stream"]["posts"]
        if stream:
            posts.append(stream[0]["id"])
    times, bad = [], 0
    for n in range(count):
        body = json.dumps({"post": posts[n % len(posts)], "value": "🎉"})
        headers = {
            "Content-Type": "application/json",
            "Api-Key": key,
            "Api-Username": USERS[n % len(USERS)],
        }
        started = time.perf_counter()
        conn.request("POST", "/plugins/reactions/a/react", body=body.encode(), headers=headers)
        r = conn.getresponse()
        r.read()
        times.append((time.perf_counter() - started) * 1000)
        if r.status != 200:
            bad += 1
            if bad == 1:
                print(f"first non-200: {r.status}", file=sys.stderr)
    times.sort()
    q = lambda p: times[min(len(times) - 1, int(p * len(times)))]
    print(
        f"{count} actions: median {statistics.median(times):.2f} ms, p90 {q(0.9):.2f} ms, "
        f"p99 {q(0.99):.2f} ms, slowest {times[-1]:.2f} ms, non-200 {bad}"
    )


main()
