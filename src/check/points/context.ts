import type { Target } from '../http.js';
import type { FactTable, Point } from '../runner.js';

/** What every point of `callcard check` reads, and the facts the points pass on to each other. */

/** Fixed for a run: resolved from the options once. */
export interface Settings {
  readonly target: Target;
  /** A number that has no contact. */
  readonly missNumber: string;
  readonly samples: number;
  readonly maxP95Ms: number;
  readonly warnP95Ms: number;
  readonly now: () => number;
}

/** The facts a point may need or use: from the command line, or given by an earlier point. */
export interface Facts {
  /** --number: a number with a contact, as the CONNECTOR sends it. */
  readonly number: string;
  /** --workflow: the workflow to post test calls to. */
  readonly workflow: string;
  /** The names of the headers given (the token); at least one. */
  readonly token: readonly string[];
  /** service.reachable: the service answers (it may still refuse the headers). */
  readonly answering: true;
  /** service.reachable: the service answers and accepts the headers. */
  readonly accepted: true;
  /** lookup.hit: the contacts found for --number; at least one. */
  readonly contacts: readonly unknown[];
  /** lookup.hit: the first contact's id and name, for the test call. */
  readonly firstContact: { readonly id?: string; readonly name?: string };
  /** lookup.hit or else lookup.miss: the JSON body form's answer that other forms must match. */
  readonly reference: { readonly number: string; readonly ids: readonly string[] };
  /** workflow.answer: the test call the workflow accepted. */
  readonly call: Readonly<Record<string, string>>;
  /** workflow.answer: that call with the id the workflow gave it. */
  readonly recorded: { readonly call: Readonly<Record<string, string>>; readonly id: string };
}

export const WORKFLOW_ADVICE =
  'Pass --workflow CallFlow to check the business workflow (this posts test calls to the service).';

const FIX_REACHABLE = 'Fix service.reachable first.';

/** Why each fact can be missing: said on the points skipped for it (a point may say it better). */
export const FACTS: FactTable<Facts> = {
  number: {
    missing: 'no --number given',
    advice: 'Pass --number with a number that has a contact (41215522000).',
  },
  workflow: { missing: 'no --workflow given', advice: WORKFLOW_ADVICE },
  token: {
    missing: 'no --header given',
    advice: "Pass the token header: --header 'X-Execution-Token: ...'.",
  },
  // service.reachable says why (no answer, a redirect, a 429, the headers refused).
  answering: { missing: 'the service did not answer', advice: FIX_REACHABLE },
  accepted: { missing: 'the service did not answer', advice: FIX_REACHABLE },
  contacts: {
    // lookup.hit is skipped without --number, so it cannot say so itself.
    missing: (facts) =>
      facts.number === undefined ? 'no --number given' : 'no contact found (see lookup.hit)',
    advice: 'Pass --number with a number that has a contact.',
  },
  firstContact: { missing: 'no contact found (see lookup.hit)', advice: 'Fix lookup.hit first.' },
  reference: {
    missing: 'the JSON body form gave no usable answer to compare with',
    advice: 'Fix lookup.hit and lookup.miss first.',
  },
  call: {
    missing: 'the workflow did not accept a plain call (see workflow.answer)',
    advice: 'Fix workflow.answer first.',
  },
  recorded: {
    missing: 'the first post gave no id (see workflow.answer)',
    advice: 'Fix workflow.answer first.',
  },
};

export type CheckPoint<Id extends string = string, N extends keyof Facts = keyof Facts> = Point<
  Facts,
  Settings,
  Id,
  N
>;

/** A point of the checker, its id kept as a literal type (the report's ids are a closed set). */
export function checkPoint<const Id extends string, N extends keyof Facts = never>(
  point: CheckPoint<Id, N>,
): CheckPoint<Id, N> {
  return point;
}
