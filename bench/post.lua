-- wrk script for bench/run.sh: POSTs one fixed JSON body on every request
-- and counts responses whose status is not 2xx.
--
-- Environment:
--   BENCH_BODY_FILE  path of the request body (required)
--
-- wrk's own "Non-2xx or 3xx responses" line only counts statuses >= 400;
-- this script counts everything outside 200..299 and prints, after wrk's
-- summary, one line that run.sh parses:
--   post.lua: non-2xx responses: N

local path = os.getenv("BENCH_BODY_FILE")
if path == nil or path == "" then
  error("post.lua: BENCH_BODY_FILE is not set")
end
local f, err = io.open(path, "rb")
if f == nil then
  error("post.lua: cannot open BENCH_BODY_FILE: " .. tostring(err))
end
local body = f:read("*a")
f:close()

-- wrk.format() adds Content-Length from the body.
wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"

-- setup() runs in the main Lua state once per thread; keep the handles so
-- done() can read each thread's counter.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

-- The functions below run in each thread's own Lua state.
non2xx = 0

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + (thread:get("non2xx") or 0)
  end
  io.write(string.format("post.lua: non-2xx responses: %d\n", total))
end
