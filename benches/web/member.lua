-- Requests as signed-in members: each request carries the next session
-- cookie of HEARTH_COOKIES (a file, one `hearth_session=…` per line, from
-- members.py), so the load spreads over several members.
local cookies = {}
for line in io.lines(os.getenv("HEARTH_COOKIES")) do
  if #line > 0 then cookies[#cookies + 1] = line end
end
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", nil, { ["Cookie"] = cookies[(n % #cookies) + 1] })
end
