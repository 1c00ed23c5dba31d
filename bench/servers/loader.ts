// Load generator, run as its own process by the bench so that it never shares an event loop with the
// server under test. Reads a JSON job file (argv[2]), runs a warm-up (discarded) then the measured run
// with autocannon, and prints one JSON line with the results on stdout. The bench imports only its types.
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

export interface LoaderJob {
  readonly url: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  /** JSON array of request bodies (strings), sent in order, cycling, one per request. */
  readonly bodiesFile: string;
  readonly connections: number;
  readonly warmupSeconds: number;
  readonly durationSeconds: number;
  readonly timeoutSeconds: number;
}

export interface LoaderResult {
  readonly connections: number;
  readonly warmupSeconds: number;
  readonly durationSeconds: number;
  readonly elapsedSeconds: number;
  readonly requests: number;
  readonly requestsPerSecond: number;
  readonly requestsPerSecondByTotal: number;
  readonly latencyMs: {
    readonly p50: number | null;
    readonly p90: number | null;
    readonly p99: number | null;
    readonly max: number | null;
    readonly mean: number | null;
  };
  readonly autocannonLatencyMs: { p50: number; p99: number; mean: number; max: number };
  readonly status2xx: number;
  readonly non2xx: number;
  readonly statusCodeStats: Record<string, { count: number }>;
  readonly errors: number;
  readonly timeouts: number;
  readonly bytesRead: number;
  readonly distinctBodiesSent: number;
  /** Requests started in all, warm-up included (what a server-side counter, e.g. a cache, has seen). */
  readonly requestsStarted: number;
  readonly warmupRequestsStarted: number;
  readonly loaderCpuPercent: number;
}

function percentile(sorted: Float64Array, p: number): number | null {
  if (sorted.length === 0) return null;
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)] ?? null;
}

const round = (value: number | null, digits = 3): number | null =>
  value === null ? null : Math.round(value * 10 ** digits) / 10 ** digits;

async function main(jobFile: string): Promise<void> {
  const job = JSON.parse(readFileSync(jobFile, 'utf8')) as LoaderJob;
  const bodies = JSON.parse(readFileSync(job.bodiesFile, 'utf8')) as unknown;
  if (!Array.isArray(bodies) || bodies.length === 0) throw new Error('no request bodies');

  // One counter for all connections: every request carries the next body of the prepared list.
  let next = 0;
  const request = {
    method: 'POST',
    path: job.path,
    headers: { 'content-type': 'application/json', ...job.headers },
    setupRequest(req: { body?: string }) {
      req.body = String(bodies[next++ % bodies.length]);
      return req;
    },
  };

  const run = (durationSeconds: number, collect?: number[]) => {
    const instance = autocannon({
      url: job.url,
      connections: job.connections,
      duration: durationSeconds,
      timeout: job.timeoutSeconds,
      requests: [request],
    });
    if (collect) {
      // autocannon's histogram keeps whole milliseconds; keep every response time for finer percentiles.
      instance.on('response', (_client, statusCode, _bytes, responseTime) => {
        if (statusCode >= 200 && statusCode < 300) collect.push(responseTime);
      });
    }
    return instance;
  };

  if (job.warmupSeconds > 0) await run(job.warmupSeconds);
  const sent = next;
  const times: number[] = [];
  // Tells the bench that the measured part starts now (it samples the CPU use of every process).
  process.stdout.write('MEASURE_START\n');
  const cpuBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  const result = await run(job.durationSeconds, times);
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpuBefore);
  const sorted = Float64Array.from(times).sort();

  const out: LoaderResult = {
    connections: job.connections,
    warmupSeconds: job.warmupSeconds,
    durationSeconds: job.durationSeconds,
    elapsedSeconds: round(elapsed) ?? 0,
    requests: result.requests.total,
    requestsPerSecond: round(result.requests.average, 1) ?? 0,
    requestsPerSecondByTotal: round(result.requests.total / result.duration, 1) ?? 0,
    latencyMs: {
      p50: round(percentile(sorted, 50)),
      p90: round(percentile(sorted, 90)),
      p99: round(percentile(sorted, 99)),
      max: round(sorted.length > 0 ? (sorted[sorted.length - 1] ?? null) : null),
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
    requestsStarted: next,
    warmupRequestsStarted: sent,
    loaderCpuPercent: round(((cpu.user + cpu.system) / 1e6 / elapsed) * 100, 1) ?? 0,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

await main(process.argv[2] ?? '');
