// Load generator, run as its own process by bench/run.js so that it never shares an event loop with
// the server under test. Reads a JSON job file (argv[2]), runs a warm-up (discarded) then the measured
// run with autocannon, and prints one JSON line with the results on stdout.
//
// Job: { url, path, headers, bodiesFile, connections, warmupSeconds, durationSeconds, timeoutSeconds }
// bodiesFile: JSON array of request bodies (strings), sent in order, cycling, one per request.
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

const job = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const bodies = JSON.parse(readFileSync(job.bodiesFile, 'utf8'));
if (!Array.isArray(bodies) || bodies.length === 0) throw new Error('no request bodies');

// One counter for all connections: every request carries the next number of the prepared list.
let next = 0;
const request = {
  method: 'POST',
  path: job.path,
  headers: { 'content-type': 'application/json', ...job.headers },
  setupRequest(req) {
    req.body = bodies[next++ % bodies.length];
    return req;
  },
};

function run(durationSeconds, collect) {
  const instance = autocannon({
    url: job.url,
    connections: job.connections,
    duration: durationSeconds,
    timeout: job.timeoutSeconds ?? 10,
    requests: [request],
  });
  if (collect) {
    // autocannon's histogram keeps whole milliseconds; keep every response time for finer percentiles.
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) collect.push(responseTime);
    });
  }
  return instance;
}

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)];
}

const round = (value, digits = 3) =>
  value === null ? null : Math.round(value * 10 ** digits) / 10 ** digits;

if (job.warmupSeconds > 0) await run(job.warmupSeconds);
const sent = next;
const times = [];
// Tells bench/run.js that the measured part starts now (it samples the CPU use of every process).
process.stdout.write('MEASURE_START\n');
const cpuBefore = process.cpuUsage();
const started = process.hrtime.bigint();
const result = await run(job.durationSeconds, times);
const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
const cpu = process.cpuUsage(cpuBefore);
const sorted = Float64Array.from(times).sort();

process.stdout.write(
  `${JSON.stringify({
    connections: job.connections,
    warmupSeconds: job.warmupSeconds,
    durationSeconds: job.durationSeconds,
    elapsedSeconds: round(elapsed),
    requests: result.requests.total,
    requestsPerSecond: round(result.requests.average, 1),
    requestsPerSecondByTotal: round(result.requests.total / result.duration, 1),
    latencyMs: {
      p50: round(percentile(sorted, 50)),
      p90: round(percentile(sorted, 90)),
      p99: round(percentile(sorted, 99)),
      max: round(sorted.length > 0 ? sorted[sorted.length - 1] : null),
      mean: round(times.reduce((sum, t) => sum + t, 0) / Math.max(1, times.length)),
    },
    autocannonLatencyMs: {
      p50: result.latency.p50,
      p99: result.latency.p99,
      mean: result.latency.mean,
      max: result.latency.max,
    },
    status2xx: result['2xx'],
    non2xx: result.non2xx,
    statusCodeStats: result.statusCodeStats,
    errors: result.errors,
    timeouts: result.timeouts,
    bytesRead: result.throughput.total,
    distinctBodiesSent: Math.min(bodies.length, next - sent),
    // Requests started in all, warm-up included (what a server-side counter, e.g. a cache, has seen).
    requestsStarted: next,
    warmupRequestsStarted: sent,
    loaderCpuPercent: round(((cpu.user + cpu.system) / 1e6 / elapsed) * 100, 1),
  })}\n`,
);
