-- Shared by the benchmark's wrk scripts (prepended to each by bench/http_load.py):
-- per-status counts kept by every thread and, when the run is over, one line
-- "BENCH-JSON {...}" with wrk's summary, the counts and the whole latency histogram, so
-- Python can merge rounds and take an exact p99 of them together.

local threads = {}
statuses = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function count(status)
  statuses[status] = (statuses[status] or 0) + 1
end

local function number(value)
  if value == nil then return "null" end
  return string.format("%.17g", value)
end

local function object(map)
  local parts = {}
  for key, value in pairs(map) do
    parts[#parts + 1] = string.format('"%s":%s', tostring(key), number(value))
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

-- The JSON line; ``names`` are globals read from every thread (numbers or nil).
function report(summary, latency, names)
  local totals, per_thread = {}, {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      totals[status] = (totals[status] or 0) + n
    end
    local values = {}
    for _, name in ipairs(names or {}) do values[name] = thread:get(name) end
    per_thread[#per_thread + 1] = object(values)
  end
  local histogram = {}
  for i = 1, #latency do
    local value, n = latency(i)
    histogram[#histogram + 1] = string.format("[%d,%d]", value, n)
  end
  io.write("BENCH-JSON {",
           '"duration_us":', number(summary.duration),
           ',"requests":', number(summary.requests),
           ',"errors":', object(summary.errors),
           ',"statuses":', object(totals),
           ',"threads":[', table.concat(per_thread, ","), "]",
           ',"latency_us":[', table.concat(histogram, ","), "]}\n")
end
