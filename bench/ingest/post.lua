-- wrk script: POST an OTLP/HTTP body to /v1/traces. Every request gets fresh
-- edgeloss.item_id / edgeloss.request_id values, prefixed with a zero-padded
-- counter: as in a simulator run, where every item is created once and ids are
-- issued in increasing order.
--   BODY=FILE     OTLP/JSON: the 11-byte prefix is inserted before each id value.
--   BODY_PB=FILE  OTLP/protobuf (made by json2pb.py): its ids carry an 11-byte
--                 placeholder, overwritten with the prefix in place, so that the
--                 message's length prefixes stay right.
local pb = os.getenv("BODY_PB")
if pb == "" then pb = nil end
local f = assert(io.open(pb or os.getenv("BODY"), "rb"))
local template = f:read("*a")
f:close()
local headers = { ["Content-Type"] = pb and "application/x-protobuf" or "application/json" }

-- Split the body once at every id, so that a request costs a table.concat, not a
-- pattern substitution over the whole body.
local parts, pos = {}, 1
while true do
  local s, e
  if pb then
    s, e = template:find("XXXXXXXXXX-", pos, true)
    if not s then break end
    parts[#parts + 1] = template:sub(pos, s - 1)
  else
    s, e = template:find("\"edgeloss%.[a-z_]+\",\"value\":{\"stringValue\":\"", pos)
    if not s then break end
    parts[#parts + 1] = template:sub(pos, e)
  end
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
