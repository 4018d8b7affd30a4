-- wrk script: POST an OTLP/HTTP protobuf body (path in $BODY_PB, made by json2pb.py) to
-- /v1/traces. Its edgeloss ids carry an 11-byte placeholder, overwritten in place with a
-- zero-padded request counter: the same fresh ids post.lua gives the JSON body, and the
-- message's length prefixes stay right because the length does not change.
local f = assert(io.open(os.getenv("BODY_PB"), "rb"))
local template = f:read("*a")
f:close()
local headers = { ["Content-Type"] = "application/x-protobuf" }
local placeholder = "XXXXXXXXXX-"

local parts, pos = {}, 1
while true do
  local s, e = template:find(placeholder, pos, true)
  if not s then break end
  parts[#parts + 1] = template:sub(pos, s - 1)
  pos = e + 1
end
parts[#parts + 1] = template:sub(pos)
local n = 0
local buf = {}

function request()
  n = n + 1
  local prefix = string.format("%010d-", n)
  for i = 1, #parts - 1 do
    buf[2 * i - 1] = parts[i]
    buf[2 * i] = prefix
  end
  buf[2 * #parts - 1] = parts[#parts]
  return wrk.format("POST", "/v1/traces", headers, table.concat(buf))
end

function done(summary, latency, requests)
  io.write(string.format("RESULT requests=%d non2xx=%d socket_errors=%d duration_us=%d p50_us=%d p99_us=%d\n",
    summary.requests, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.duration, latency:percentile(50), latency:percentile(99)))
end
