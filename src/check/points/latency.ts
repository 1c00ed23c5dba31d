import { send } from '../http.js';
import type { Finding } from '../shape.js';
import { checkPoint } from './context.js';
import { fail, LIMITED_ADVICE, lookupRequest, ms, noAnswer, warn } from './findings.js';

/** How fast lookups answer, one after the other, as calls come. */

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

export const latency = checkPoint({
  id: 'latency',
  title: 'Lookup latency',
  needs: ['accepted'],
  // The number with a contact when lookup.hit found one: a hit is the slow case.
  uses: ['contacts', 'number'],
  async run({ settings, facts }) {
    const { samples, maxP95Ms: maxP95 } = settings;
    const warnP95 = Math.min(settings.warnP95Ms, maxP95);
    const number =
      facts.contacts !== undefined && facts.number !== undefined ? facts.number : settings.missNumber;
    const times: number[] = [];
    const findings: Finding[] = [];
    let failed = 0;
    let refused = 0;
    // One after the other, as calls come: this measures the answer time, not throughput.
    for (let i = 0; i < samples; i++) {
      const answer = await send(settings.target, lookupRequest(number));
      if (answer.status === undefined) {
        findings.push(noAnswer(answer, `lookup ${i + 1} of ${samples}`));
        break;
      }
      times.push(answer.ms);
      if (answer.status >= 500) failed++;
      if (answer.status === 429) refused++;
    }
    if (refused > 0) {
      findings.push(
        fail(`${refused} of ${times.length} lookups answered 429 (rate limited)`, LIMITED_ADVICE),
      );
    }
    if (failed > 0) {
      findings.push(
        fail(
          `${failed} of ${times.length} lookups answered 5xx`,
          'Lookups must answer reliably: find out from the service log why some fail.',
        ),
      );
    }
    if (times.length === 0) return { findings, passed: '' };
    const sorted = [...times].sort((a, b) => a - b);
    const round = (value: number) => Math.round(value * 10) / 10;
    const data = {
      samples: times.length,
      p50: round(percentile(sorted, 50)),
      p95: round(percentile(sorted, 95)),
      p99: round(percentile(sorted, 99)),
      max: round(sorted[sorted.length - 1]!),
    };
    const summary = `${times.length} lookups: p50 ${ms(data.p50)}, p95 ${ms(data.p95)}, p99 ${ms(data.p99)}, max ${ms(data.max)}`;
    const slow =
      'The card must reach the user while the phone rings: answer within a few hundred ms, with a deadline on slow CRMs (answer what was found by then, or []).';
    if (data.p95 > maxP95) findings.push(fail(`${summary} (p95 above ${maxP95} ms)`, slow));
    else if (data.p95 > warnP95) findings.push(warn(`${summary} (p95 above ${warnP95} ms)`, slow));
    return { findings, passed: summary, data };
  },
});

export const LATENCY_POINTS = [latency] as const;
