"""Acceptance: pydiscourse, used as its README shows, against the demo.

Run by tests/discourse_client.rs with HEARTH_URL and HEARTH_API_KEY set.
Every call below is a public pydiscourse method, unchanged.
"""

import os
import sys

from pydiscourse import DiscourseClient
from pydiscourse.exceptions import DiscourseClientError

url = os.environ["HEARTH_URL"]
key = os.environ["HEARTH_API_KEY"]

client = DiscourseClient(url, api_username="maya", api_key=key)


def check(cond, what):
    if not cond:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {what}")


latest = client.latest_topics()
topics = latest["topic_list"]["topics"]
check(len(topics) > 0, "latest_topics lists topics")

categories = client.categories()
qa = next(c for c in categories if c["slug"] == "ledger-cloud")
check(qa["name"] == "Ledger Cloud Q&A", "categories has the product Q&A")

first = topics[0]
topic = client.topic(first["slug"], first["id"])
check(topic["id"] == first["id"] and topic["post_stream"]["posts"], "topic by slug and id")

posts = client.posts(first["id"])
check(posts["post_stream"]["posts"][0]["post_number"] == 1, "posts of a topic")

created = client.create_post(
    "Our month-end close takes three days. Which reports do you run first, and in what order?",
    category_id=qa["id"],
    title="Which reports to run first at month-end close?",
    tags=["ledger-cloud"],
)
check(created["post_number"] == 1 and created["topic_id"], "create_post opens a topic")

answerer = DiscourseClient(url, api_username="olga_mentor", api_key=key)
reply = answerer.create_post(
    "Start with the trial balance, then the aged receivables; everything else depends on those two.",
    topic_id=created["topic_id"],
)
check(reply["post_number"] == 2 and reply["topic_id"] == created["topic_id"], "create_post replies")

edited = answerer.update_post(
    reply["id"],
    "Start with the trial balance, then aged receivables and payables; everything else depends on those.",
    edit_reason="added payables",
)
check("payables" in edited["post"]["cooked"], "update_post edits")

found = client.search("trial balance receivables")
check(any(p["topic_id"] == created["topic_id"] for p in found["posts"]), "search finds the new answer")

user = client.user("olga_mentor")
check(user["username"] == "olga_mentor" and user["trust_level"] >= 0, "user")

badges = client.user_badges("maya")
check("badges" in badges and "user_badges" in badges, "user_badges")

new_user = client.create_user(
    "Nora Quint", "nora_quint", "nora@example.com", "a strong demo password", active="true"
)
check(new_user["success"] is True and new_user["user_id"], "create_user")

try:
    client.topic("employees-only", 999999)
    check(False, "a missing topic is an error")
except DiscourseClientError as e:
    check(e.response.status_code == 404, "a missing topic is a 404 client error")

print("all pydiscourse calls passed")
