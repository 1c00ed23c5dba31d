// Load generator, run as its own process by the bench so that it never shares an event loop with the
// server under test. Reads a JSON job file (argv[2]), runs a warm-up (discarded) then the measured run
// with autocannon, and prints one JSON line with the results on stdout. The bench imports only its types.
// With several targets (`urls`, instances of one service), the connections are shared out among them
// and one autocannon per target runs at once; the bodies are one list handed out in turn to them all.
import { readFileSync } from 'node:fs';
import autocannon, { type Result as CannonResult } from 'autocannon';

export interface LoaderJob {
  readonly url: string;
  /** Several instances of the service to load at once (then `url` is ignored). */
  readonly urls?: readonly string[];
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

/** One result of several autocannon runs side by side: counts added, latencies from the worst. */
function mergeResults(results: readonly CannonResult[]): CannonResult {
  const sum = (pick: (r: CannonResult) => number) => results.reduce((n, r) => n + pick(r), 0);
  const worst = (pick: (r: CannonResult) => number) => Math.max(...results.map(pick));
  const statusCodeStats: Record<string, { count: number }> = {};
  for (const r of results)
    for (const [code, { count }] of Object.entries(r.statusCodeStats ?? {}))
      statusCodeStats[code] = { count: (statusCodeStats[code]?.count ?? 0) + count };
  const first = results[0]!;
  return {
    ...first,
    requests: {
      ...first.requests,
      total: sum((r) => r.requests.total),
      average: sum((r) => r.requests.average),
    },
    latency: {
      ...first.latency,
      p50: worst((r) => r.latency.p50),
      p99: worst((r) => r.latency.p99),
      mean:
        sum((r) => r.latency.mean * r.requests.total) /
        Math.max(
          1,
          sum((r) => r.requests.total),
        ),
      max: worst((r) => r.latency.max),
    },
    throughput: { ...first.throughput, total: sum((r) => r.throughput.total) },
    duration: worst((r) => r.duration),
    '2xx': sum((r) => r['2xx']),
    non2xx: sum((r) => r.non2xx),
    errors: sum((r) => r.errors),
    timeouts: sum((r) => r.timeouts),
    statusCodeStats,
  };
}

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

  const urls = job.urls && job.urls.length > 0 ? job.urls : [job.url];
  if (job.connections < urls.length) throw new Error('fewer connections than targets');
  const runOne = (url: string, connections: number, durationSeconds: number, collect?: number[]) => {
    const instance = autocannon({
      url,
      connections,
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
  // 32 connections over 3 targets: 11, 11, 10.
  const share = (i: number) =>
    Math.floor(job.connections / urls.length) + (i < job.connections % urls.length ? 1 : 0);
  const run = async (durationSeconds: number, collect?: number[]): Promise<CannonResult> => {
    if (urls.length === 1) return runOne(urls[0]!, job.connections, durationSeconds, collect);
    const results = await Promise.all(urls.map((url, i) => runOne(url, share(i), durationSeconds, collect)));
    return mergeResults(results);
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
