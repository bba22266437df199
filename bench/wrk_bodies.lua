-- wrk script: POST one body after another from a file, each line "<bearer key>\t<json body>"
-- (an empty key sends no Authorization header). Usage:
--   wrk -t1 -c16 -d10s -s wrk_bodies.lua URL -- BODIES_FILE PATH
-- Prints one line "JSON {...}" with the counts and latency percentiles in microseconds.
local requests = {}
local counter = 0

function init(args)
  local file = assert(io.open(args[1], "r"))
  for line in file:lines() do
    local tab = line:find("\t", 1, true)
    local key = line:sub(1, tab - 1)
    local headers = { ["Content-Type"] = "application/json" }
    if key ~= "" then headers["Authorization"] = "Bearer " .. key end
    requests[#requests + 1] = wrk.format("POST", args[2], headers, line:sub(tab + 1))
  end
  file:close()
end

function request()
  counter = counter % #requests + 1
  return requests[counter]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "non2xx": %d, "connect": %d, "read": %d, "write": %d, "timeout": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.status, e.connect, e.read, e.write, e.timeout))
end
