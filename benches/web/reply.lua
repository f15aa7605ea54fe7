-- wrk script: POST /posts.json replies to one topic as a rotating set of
-- demo members, with the global API key from $HEARTH_API_KEY.
local key = os.getenv("HEARTH_API_KEY")
local topic = os.getenv("HEARTH_TOPIC")
local users = { "anna_berg", "ben_costa", "carla_diaz", "dev_eklund", "elif_fischer", "farid_garcia", "grace_haas", "hugo_ito" }
local n = 0

request = function()
  n = n + 1
  local user = users[(n % #users) + 1]
  local body = string.format('{"topic_id": %s, "raw": "Load test reply number %d from %s: same here, thanks for the tip."}', topic, n, user)
  return wrk.format("POST", "/posts.json", {
    ["Content-Type"] = "application/json",
    ["Api-Key"] = key,
    ["Api-Username"] = user,
  }, body)
end
