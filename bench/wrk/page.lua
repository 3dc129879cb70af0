-- page_ratio: the same GET over and over (wrk's URL); statuses counted.

function response(status)
  count(status)
end

function done(summary, latency)
  report(summary, latency)
end
