import type { CheckResult, CheckStatus } from './checks.js';

/** How `callcard check` shows its results: lines for people, JSON for machines. */

export interface ReportContext {
  readonly url: string;
  /** Header names only: values are never shown. */
  readonly headerNames: readonly string[];
  readonly number?: string;
  readonly workflow?: string;
}

export type Summary = Record<CheckStatus, number>;

export function summarize(results: readonly CheckResult[]): Summary {
  const summary: Summary = { pass: 0, fail: 0, warn: 0, skip: 0 };
  for (const result of results) summary[result.status]++;
  return summary;
}

/** 1 when a point failed (or, with `strict`, warned), else 0. */
export function exitCodeOf(results: readonly CheckResult[], strict = false): 0 | 1 {
  const summary = summarize(results);
  return summary.fail > 0 || (strict && summary.warn > 0) ? 1 : 0;
}

// Text from the service under test never moves the terminal's cursor or colours.
const printable = (text: string) => text.replace(/\p{Cc}+/gu, ' ');

const MARK: Record<CheckStatus, string> = { pass: 'PASS', fail: 'FAIL', warn: 'WARN', skip: 'SKIP' };

export function formatText(results: readonly CheckResult[], context: ReportContext): string {
  const about = [
    context.headerNames.length > 0 ? `headers ${context.headerNames.join(', ')}` : 'no headers',
    context.number !== undefined ? `number ${context.number}` : 'no --number',
    context.workflow !== undefined ? `workflow ${context.workflow}` : 'no --workflow',
  ];
  const lines = [`callcard check ${context.url} (${about.join('; ')})`, ''];
  const width = Math.max(...results.map((r) => r.id.length));
  const advised = new Set<string>();
  for (const result of results) {
    lines.push(
      `${MARK[result.status]}  ${result.id.padEnd(width)}  ${result.title}: ${printable(result.detail)}`,
    );
    // A skip's advice ("pass --workflow") is said once, not under every point it skips.
    if (
      result.status === 'pass' ||
      !result.advice ||
      (result.status === 'skip' && advised.has(result.advice))
    ) {
      continue;
    }
    advised.add(result.advice);
    lines.push(`      ${' '.repeat(width)}  → ${printable(result.advice)}`);
  }
  const summary = summarize(results);
  lines.push(
    '',
    `${results.length} points: ${summary.pass} passed, ${summary.fail} failed, ${summary.warn} warnings, ${summary.skip} skipped`,
  );
  return `${lines.join('\n')}\n`;
}

export function formatJson(results: readonly CheckResult[], context: ReportContext, strict = false): string {
  return `${JSON.stringify(
    {
      url: context.url,
      headers: context.headerNames,
      ...(context.number !== undefined && { number: context.number }),
      ...(context.workflow !== undefined && { workflow: context.workflow }),
      ok: exitCodeOf(results, strict) === 0,
      summary: summarize(results),
      results,
    },
    null,
    2,
  )}\n`;
}
