-- wrk script: POST /posts.json replies, spread over the demo's question
-- topics, by its staff and experts (official accounts are exempt from the
-- per-member posting rate limits, as in Discourse), with the global API key
-- from $HEARTH_API_KEY. $HEARTH_TOPICS is the highest topic id to use.
local key = os.getenv("HEARTH_API_KEY")
local topics = tonumber(os.getenv("HEARTH_TOPICS"))
local users = { "sam_support", "priya_pm", "lee_eng", "olga_mentor", "raj_expert", "ken_mvp", "maya", "jules_mod" }
local n = 0

setup = function(thread)
  thread:set("id", math.random(1, 1000000))
end

request = function()
  n = n + 1
  local user = users[(n % #users) + 1]
  local topic = 20 + ((n * 7919 + id) % (topics - 40))
  local body = string.format('{"topic_id": %d, "raw": "Load test reply %d-%d by %s: here is what worked for us."}', topic, id, n, user)
  return wrk.format("POST", "/posts.json", {
    ["Content-Type"] = "application/json",
    ["Api-Key"] = key,
    ["Api-Username"] = user,
  }, body)
end
