// The summary table: metric, value, target, PASS/FAIL; and the formats its cells share.
import type { LoadResult } from './load.js';

type Row = [metric: string, value: string, target: string, mark: string];

const mark = (ok: boolean | null): string => (ok === null ? ' n/a' : ok ? 'PASS' : 'FAIL');

export class Report {
  readonly rows: Row[] = [];

  /** A row; with a target, `ok` says whether it was met (null: could not tell). */
  row(metric: string, value: string | number, target = '', ok: boolean | null = null): void {
    this.rows.push([metric, String(value), target, target ? mark(ok) : '']);
  }

  /** The table, its columns as wide as their widest cell. */
  table(): string[] {
    const head: Row = ['metric', 'value', 'target', ''];
    const widths = [0, 1, 2].map((c) => Math.max(...[head, ...this.rows].map((r) => r[c]!.length)));
    const line = (r: readonly string[]) =>
      `${r[0]!.padEnd(widths[0]!)}  ${r[1]!.padEnd(widths[1]!)}  ${r[2]!.padEnd(widths[2]!)}  ${r[3]}`.trimEnd();
    return [line(head), line([...widths.map((w) => '-'.repeat(w)), '----']), ...this.rows.map(line)];
  }
}

export const ms = (v: number | null | undefined): string =>
  v === null || v === undefined ? 'n/a' : `${v.toFixed(2)} ms`;

export const rps = (v: number): string => `${Math.round(v).toLocaleString('en-US')} req/s`;

/** Where the cores went during a measured load. */
export const cpu = (load: LoadResult): string =>
  load.cpuPercent
    ? `server ${load.cpuPercent.server}%, loader ${load.cpuPercent.loader}%, ` +
      `steal ${load.cpuPercent.steal}%, other ${load.cpuPercent.others}%`
    : 'n/a';

export const perRequest = (load: LoadResult): string => `${load.serverCpuMicrosPerRequest ?? 'n/a'} µs`;

/** "failed: …" or "skipped (…)" for a part that has no figures. */
export const failed = (part: { error?: string; skipped?: string } | undefined): string =>
  part?.error ? `failed: ${part.error.slice(0, 160)}` : `skipped (${part?.skipped ?? 'not run'})`;
