// A scenario: one part of the bench, with its figures, its summary rows and its pass/fail checks.
import type { Context } from '../support/context.js';
import type { Report } from '../support/report.js';
import type { ScenarioName } from './index.js';

/** What became of a scenario: its result, or why there is none. */
export type Outcome<R> =
  | { readonly ok: true; readonly result: R }
  | { readonly ok: false; readonly error?: string; readonly skipped?: string };

export interface Scenario<R> {
  readonly name: ScenarioName;
  readonly description: string;
  /** Run when no scenario is named. */
  readonly byDefault: boolean;
  /** BENCH_SOURCES=0 / BENCH_WORKFLOWS=0 (--no-sources, --no-workflows) leave the group out. */
  readonly group?: 'sources' | 'workflows';
  /** Scenarios whose results this one uses: run before it, and it is skipped if one failed. */
  readonly needs: readonly ScenarioName[];
  run(ctx: Context): Promise<R>;
  /** Lines above the summary table that say how it was run. */
  notes?(result: R, ctx: Context): string[];
  /** Its rows of the summary table (also when it failed or was skipped). */
  rows(report: Report, outcome: Outcome<R>, ctx: Context): void;
  /** Lines below the table. */
  footer?(result: R, ctx: Context): string[];
  /** Checks against targets, by name (results.json `pass`). */
  pass?(result: R, ctx: Context): Record<string, boolean>;
  /** Runs at the end of the bench when the scenario has run (also after a failure). */
  cleanup?(ctx: Context): Promise<void>;
}

export const defineScenario = <R>(scenario: Scenario<R>): Scenario<R> => scenario;
