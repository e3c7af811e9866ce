-- wrk script of `python -m bench intake_api`: a leaner client than Python threads on the same two cores.
-- Arguments (after --): mode ("intake" or "health"), the run's id, the API token.
-- intake: every request a new person (email and Idempotency-Key unique per run, thread and request), so each one
-- must create a lead; the bench counts the leads afterwards. Prints one line: WRK {json figures}.
local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  mode, run, token = args[1], args[2], args[3]
  sent, created, answered, other = 0, 0, 0, 0
end

function request()
  if mode == "health" then
    return wrk.format("GET", "/health/")
  end
  sent = sent + 1
  local key = run .. "-" .. tid .. "-" .. sent
  local body = '{"name": "Wrk Person ' .. key .. '", "email": "wrk-' .. key .. '@bench.example", '
    .. '"company": "Bench Inc", "country": "DE", "utm_source": "bench"}'
  return wrk.format("POST", "/api/v1/leads/", {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = "wrk-" .. key,
  }, body)
end

function response(status, headers, body)
  if status == 201 then
    created = created + 1
  elseif status == 200 then
    answered = answered + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local c, a, o, s = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    c = c + t:get("created")
    a = a + t:get("answered")
    o = o + t:get("other")
    s = s + t:get("sent")
  end
  local e = summary.errors
  io.write(string.format(
    'WRK {"requests": %d, "seconds": %.6f, "p50": %.3f, "p95": %.3f, "created": %d, "ok": %d, "other": %d, '
      .. '"sent": %d, "errors": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    c, a, o, s, e.connect + e.read + e.write + e.status + e.timeout))
end
