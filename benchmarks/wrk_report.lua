-- wrk script of the portal benchmark: counts responses other than 200 and
-- prints one machine-readable line with throughput and latency percentiles.
-- wrk runs each thread in its own Lua state, so the counts are summed in done().

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   non_200 = 0
end

function response(status, headers, body)
   if status ~= 200 then
      non_200 = non_200 + 1
   end
end

function done(summary, latency, requests)
   local unexpected = 0
   for _, thread in ipairs(threads) do
      unexpected = unexpected + thread:get("non_200")
   end
   local errors = summary.errors
   io.write(string.format(
      "WRK_RESULT requests=%d duration_us=%d socket_errors=%d non_200=%d "
         .. "p50_us=%d p95_us=%d p99_us=%d max_us=%d\n",
      summary.requests,
      summary.duration,
      errors.connect + errors.read + errors.write + errors.timeout,
      unexpected,
      latency:percentile(50),
      latency:percentile(95),
      latency:percentile(99),
      latency.max
   ))
end
