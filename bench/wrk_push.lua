-- wrk script for bench/bench_receiver.py: every request is a distinct flat push (its own instant), so
-- the receiver stores each one; at the end one JSON line with the counts and latency percentiles.
--
--   wrk -t2 -c64 -d10s -s bench/wrk_push.lua http://127.0.0.1:PORT/push
--
-- Environment: PUSH_TOKEN (the devices' push token), PUSH_DEVICES (devices GATE-0..N-1), PUSH_START
-- (Unix seconds of the first punch), PUSH_RUN (a number that keeps two runs' punches apart).

local threads = {}
local token = os.getenv("PUSH_TOKEN") or "bench-token"
local devices = tonumber(os.getenv("PUSH_DEVICES") or "50")
local start = tonumber(os.getenv("PUSH_START") or tostring(os.time() - 60 * 86400))
local run = tonumber(os.getenv("PUSH_RUN") or "0")

function setup(thread)
   thread:set("id", #threads)
   table.insert(threads, thread)
end

function init(args)
   counter = 0
   -- Each thread's punches are milliseconds apart in a range of its own (about 28 hours; up to 8
   -- threads and 2 runs stay within 37 days of PUSH_START): no two requests collide.
   base_ms = (run * 8 + id) * 100000000
   headers = {
      ["Authorization"] = "Bearer " .. token,
      ["Content-Type"] = "application/json",
   }
end

function request()
   counter = counter + 1
   local offset_ms = base_ms + counter
   local seconds = start + math.floor(offset_ms / 1000)
   local moment = os.date("!%Y-%m-%dT%H:%M:%S", seconds) .. string.format(".%03dZ", offset_ms % 1000)
   local body = string.format(
      '{"stgid": "GATE-%d", "UserID": "E%05d", "LogTime": "%s", "Type": "1", "Status": %d}',
      counter % devices, (id * 7919 + counter) % 5000, moment, counter % 2
   )
   return wrk.format("POST", nil, headers, body)
end

function done(summary, latency, requests)
   local errors = summary.errors
   io.write(string.format(
      'WRK {"requests": %d, "duration_us": %d, "connect_errors": %d, "read_errors": %d, "write_errors": %d, '
         .. '"status_errors": %d, "timeouts": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\n',
      summary.requests, summary.duration, errors.connect, errors.read, errors.write, errors.status,
      errors.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max
   ))
end
