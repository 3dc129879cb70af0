-- checkin_rate: every prepared POST is sent exactly once across wrk's threads.
-- Arguments (after "--"): the requests file (one "path<TAB>cookie<TAB>body" a line),
-- the number of wrk threads, a marker path prefix, and an idle path.
--
-- Thread n takes the lines i with i % threads == n. wrk asks every connection for a
-- request again as soon as its answer arrives, so once a thread's share is all sent its
-- connections get the idle request (a static file asked for with If-Modified-Since far
-- ahead, so its answer is a bodiless 304 that no check-in gives, not counted) until the
-- last check-in is answered; then the thread writes its marker and stops. Python interrupts wrk when every thread has written its marker. The rate
-- is taken from the first request sent to the last check-in answered (monotonic clock).

local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock_id, bench_timespec *tp);
]]
local MONOTONIC = 1
local clock = ffi.new("bench_timespec")

local function now()
  ffi.C.clock_gettime(MONOTONIC, clock)
  return tonumber(clock.tv_sec) + tonumber(clock.tv_nsec) / 1e9
end

local queue, idle_request, marker, verified = {}, nil, nil, true
-- Globals, read by done() from every thread:
prepared, sent, answered, idle_sent, idle, first, last = 0, 0, 0, 0, 0, nil, nil

function init(args)
  local threads = tonumber(args[2])
  marker = args[3] .. id
  local line_number = 0
  for line in io.lines(args[1]) do
    if line_number % threads == id then
      local path, cookie, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
      queue[#queue + 1] = wrk.format("POST", path, {
        ["Cookie"] = cookie,
        ["Content-Type"] = "application/x-www-form-urlencoded",
      }, body)
    end
    line_number = line_number + 1
  end
  prepared = #queue
  idle_request = wrk.format("GET", args[4], {
    ["If-Modified-Since"] = "Fri, 01 Jan 2100 00:00:00 GMT",
  })
  if prepared == 0 then io.open(marker, "w"):close() end
  -- wrk calls request() once on thread 0's state before the run starts, only to count
  -- pipelined requests (script_verify_request): that call gets the idle request, so no
  -- check-in is used up unsent. (Were it not made, one idle request would go out.)
  verified = id ~= 0
end

function request()
  if not verified then
    verified = true
    return idle_request
  end
  first = first or now()
  if sent < #queue then
    sent = sent + 1
    return queue[sent]
  end
  idle_sent = idle_sent + 1
  return idle_request
end

function response(status)
  if status == 304 then
    idle = idle + 1
    return
  end
  count(status)
  answered = answered + 1
  last = now()
  if answered == #queue then
    io.open(marker, "w"):close()
    wrk.thread:stop()
  end
end

function done(summary, latency)
  report(summary, latency, {"prepared", "sent", "answered", "idle", "idle_sent", "first", "last"})
end
