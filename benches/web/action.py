"""Round trips of a plugin action over HTTP (JSON, the global API key acting
as the demo's staff and experts in turn), one request at a time on a
kept-alive connection:

- `react` (default): POST /plugins/reactions/a/react, toggling a reaction
  on the newest topics' first posts;
- `vote`: POST /plugins/polls/a/vote, voting in the announcement's poll
  (each member in turn moves their vote to the next option).

Prints the median, p90, p99 and the slowest, in milliseconds, and how many
answers were not 200.

    python3 benches/web/action.py http://127.0.0.1:3901 KEYFILE [COUNT] [react|vote]

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
    action = sys.argv[4] if len(sys.argv) > 4 else "react"
    key = open(keyfile).read().strip()
    url = urlparse(base)
    conn = http.client.HTTPConnection(url.hostname, url.port)

    def get(path):
        conn.request("GET", path, headers={"Accept": "application/json"})
        r = conn.getresponse()
        return json.loads(r.read())

    if action == "vote":
        found = get("/search.json?q=maintenance%20window%20poll")
        topic = next(t for t in found["topics"] if t["title"].startswith("Help us pick"))
        posts = [get(f"/t/{topic['id']}.json")["post_stream"]["posts"][0]["id"]]
        path = "/plugins/polls/a/vote"
        value = lambda n: f"poll:{(n // len(USERS)) % 3}"
    else:
        topics = get("/latest.json")["topic_list"]["topics"][:20]
        posts = []
        for t in topics:
            stream = get(f"/t/{t['id']}.json")["post_stream"]["posts"]
            if stream:
                posts.append(stream[0]["id"])
        path = "/plugins/reactions/a/react"
        value = lambda n: "🎉"
    times, bad = [], 0
    for n in range(count):
        body = json.dumps({"post": posts[n % len(posts)], "value": value(n)})
        headers = {
            "Content-Type": "application/json",
            "Api-Key": key,
            "Api-Username": USERS[n % len(USERS)],
        }
        started = time.perf_counter()
        conn.request("POST", path, body=body.encode(), headers=headers)
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
        f"{count} {action} actions: median {statistics.median(times):.2f} ms, p90 {q(0.9):.2f} ms, "
        f"p99 {q(0.99):.2f} ms, slowest {times[-1]:.2f} ms, non-200 {bad}"
    )


main()
