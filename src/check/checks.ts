import { CHECK_DEFAULTS } from './defaults.js';
import { type Fetch, hider } from './http.js';
import { FACTS, type Facts, type Settings } from './points/context.js';
import { type CheckId, POINTS } from './points/index.js';
import { type Point, type PointResult, type PointStatus, runPoints } from './runner.js';

/**
 * `callcard check`: plays the CONNECTOR against a phone lookup service and judges each point of
 * the API on its own, with advice. Pure apart from the HTTP requests, which go through `fetch`.
 * The points are in `points/`, one module per group; `runner.ts` orders and runs them.
 */

export type { CheckId } from './points/index.js';
export { percentile } from './points/latency.js';

export type CheckStatus = PointStatus;

export type CheckResult = PointResult<CheckId>;

export interface CheckOptions {
  /** The service's root as entered in the CUSTOMER-PORTAL: `<url>/Lookup` is the lookup. */
  readonly url: string;
  /** The headers the CONNECTOR would send (the token); never shown in results. */
  readonly headers?: Readonly<Record<string, string>>;
  /** A number with a contact, as the CONNECTOR sends it (41215522000). */
  readonly number?: string;
  /** A number that has no contact; a fixed unassigned-looking one by default. */
  readonly missNumber?: string;
  /** A workflow to post a test call to, e.g. CallFlow. */
  readonly workflow?: string;
  /** Lookups timed for the latency point (default 20). */
  readonly samples?: number;
  /** How long one request may take before it counts as no answer (default 5000 ms). */
  readonly timeoutMs?: number;
  /** The latency point fails when the 95th percentile is above this (default 1500 ms)... */
  readonly maxP95Ms?: number;
  /** ...and warns above this (default 500 ms). */
  readonly warnP95Ms?: number;
  readonly fetch?: Fetch;
  /** Clock for the test call's times. */
  readonly now?: () => number;
}

/** Every point's title, by id, in the order they are reported. */
export const CHECKS = Object.fromEntries(POINTS.map((point) => [point.id, point.title])) as Readonly<
  Record<CheckId, string>
>;

export const DEFAULTS = CHECK_DEFAULTS;

// Numbers that should belong to nobody, in the CONNECTOR's form; the second if --number is the first.
const MISS_NUMBERS = ['41215550199', '41445550199'] as const;

export async function runChecks(options: CheckOptions): Promise<CheckResult[]> {
  const headers = options.headers ?? {};
  const number = options.number;
  const settings: Settings = {
    target: {
      root: options.url.replace(/\/+$/, ''),
      headers,
      timeoutMs: options.timeoutMs ?? DEFAULTS.timeoutMs,
      fetch: options.fetch ?? globalThis.fetch,
    },
    missNumber: options.missNumber ?? (number === MISS_NUMBERS[0] ? MISS_NUMBERS[1] : MISS_NUMBERS[0]),
    samples: options.samples ?? DEFAULTS.samples,
    maxP95Ms: options.maxP95Ms ?? DEFAULTS.maxP95Ms,
    warnP95Ms: options.warnP95Ms ?? DEFAULTS.warnP95Ms,
    now: options.now ?? Date.now,
  };
  const names = Object.keys(headers);
  const facts: Partial<Facts> = {
    ...(number !== undefined && { number }),
    ...(options.workflow && { workflow: options.workflow }),
    ...(names.length > 0 && { token: names }),
  };
  const points: readonly Point<Facts, Settings, CheckId>[] = POINTS;
  const results = await runPoints(points, { settings, facts, table: FACTS });
  return redact(results, Object.values(headers));
}

/** Header values never appear in a result, even when a service echoes them back. */
function redact(results: readonly CheckResult[], secrets: readonly string[]): CheckResult[] {
  const hide = hider(secrets);
  return results.map((result) => ({
    ...result,
    detail: hide(result.detail),
    ...(result.advice !== undefined && { advice: hide(result.advice) }),
  }));
}
