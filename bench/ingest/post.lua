-- wrk script: POST an OTLP/HTTP JSON body (path in $BODY) to /v1/traces. Every
-- request gets fresh edgeloss.item_id / edgeloss.request_id values, prefixed
-- with a zero-padded counter: as in a simulator run, where every item is
-- created once and ids are issued in increasing order.
local f = assert(io.open(os.getenv("BODY"), "rb"))
local template = f:read("*a")
f:close()
local headers = { ["Content-Type"] = "application/json" }

-- Split the body once at every join-key value, so that a request costs a
-- table.concat, not a pattern substitution over the whole body.
local parts, pos = {}, 1
while true do
  local s, e = template:find("\"edgeloss%.[a-z_]+\",\"value\":{\"stringValue\":\"", pos)
  if not s then break end
  parts[#parts + 1] = template:sub(pos, e)
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
