import type { Finding } from './shape.js';

/**
 * The runner of `callcard check`: points are data (`{ id, title, needs, run }`), each judged on its
 * own. What one point learns for others (the contacts found, the workflow's id) is a fact it
 * returns; the runner keeps the facts, runs each point after the points that give what it needs,
 * and skips a point whose needs are unmet, saying why.
 *
 * Generic over the facts (`F`) and the settings every point reads (`S`), so that it knows nothing
 * of the CONNECTOR: the points of the checker are in `points/`.
 */

export type PointStatus = 'pass' | 'fail' | 'warn' | 'skip';

export interface PointResult<Id extends string = string> {
  readonly id: Id;
  readonly title: string;
  readonly status: PointStatus;
  readonly detail: string;
  /** What to change; on failures, warnings and skips. */
  readonly advice?: string;
  /** Measured values (latency percentiles, counts) for machines. */
  readonly data?: Readonly<Record<string, number>>;
}

/** What a point is given: the settings, and the facts known so far (every need among them). */
export interface PointContext<F, S, N extends keyof F = never> {
  readonly settings: S;
  readonly facts: Readonly<Partial<F> & Pick<F, N>>;
}

/** What a point found. */
export interface Outcome<F> {
  /** Nothing found is a pass; else the worst level found. */
  readonly findings: readonly Finding[];
  /** The result's detail when nothing was found. */
  readonly passed: string;
  readonly data?: Readonly<Record<string, number>>;
  /** Facts for later points; only those named in `gives`. */
  readonly facts?: Partial<F>;
  /** Why a fact named in `gives` is not given, when the point knows (else the fact's own reason). */
  readonly missing?: Partial<Record<keyof F, string>>;
}

export interface Point<F, S, Id extends string = string, N extends keyof F = keyof F> {
  readonly id: Id;
  readonly title: string;
  /** Facts the point cannot run without; the first one missing is the reason it is skipped. */
  readonly needs: readonly N[];
  /** Facts the point reads when they are known: it runs after the points that may give them. */
  readonly uses?: readonly (keyof F)[];
  /** Facts the point may give. */
  readonly gives?: readonly (keyof F)[];
  /** Advice on a skip for a missing need, where the point says it better than the fact does. */
  readonly advice?: Partial<Record<keyof F, string>>;
  run(context: PointContext<F, S, N>): Outcome<F> | Promise<Outcome<F>>;
}

/** Why a fact can be missing and what to do about it, said on the points skipped for it. */
export interface FactInfo<F> {
  readonly missing: string | ((facts: Readonly<Partial<F>>) => string);
  readonly advice: string;
}

export type FactTable<F> = { readonly [K in keyof F]-?: FactInfo<F> };

export interface RunOptions<F, S> {
  readonly settings: S;
  /** Facts known before any point runs (from the command line). */
  readonly facts: Partial<F>;
  readonly table: FactTable<F>;
}

/** What orders a point among others. */
export interface Ordered {
  readonly id: string;
  readonly needs: readonly PropertyKey[];
  readonly uses?: readonly PropertyKey[];
  readonly gives?: readonly PropertyKey[];
}

/**
 * The points in an order where each runs after every other point that gives what it needs or
 * uses; among those free to run, the listed order. A cycle is a mistake in the points' table.
 */
export function orderPoints<P extends Ordered>(points: readonly P[]): P[] {
  const givers = new Map<PropertyKey, P[]>();
  for (const point of points) {
    for (const fact of point.gives ?? []) givers.set(fact, [...(givers.get(fact) ?? []), point]);
  }
  const waitsFor = (point: P) =>
    [...point.needs, ...(point.uses ?? [])].flatMap((fact) =>
      (givers.get(fact) ?? []).filter((giver) => giver !== point),
    );
  const ordered: P[] = [];
  const placed = new Set<P>();
  while (ordered.length < points.length) {
    const next = points.find(
      (point) => !placed.has(point) && waitsFor(point).every((giver) => placed.has(giver)),
    );
    if (next === undefined) {
      const left = points.filter((point) => !placed.has(point)).map((point) => point.id);
      throw new Error(`the points ${left.join(', ')} wait for each other`);
    }
    ordered.push(next);
    placed.add(next);
  }
  return ordered;
}

/** One result from what was found: failures first, then warnings; a pass when nothing was. */
export function judge<Id extends string>(
  id: Id,
  title: string,
  findings: readonly Finding[],
  passed: string,
  data?: Readonly<Record<string, number>>,
): PointResult<Id> {
  if (findings.length === 0) return { id, title, status: 'pass', detail: passed, ...(data && { data }) };
  const ordered = [
    ...findings.filter((f) => f.level === 'fail'),
    ...findings.filter((f) => f.level === 'warn'),
  ];
  const shown = ordered.slice(0, 4).map((f) => f.detail);
  if (ordered.length > shown.length) shown.push(`${ordered.length - shown.length} more`);
  return {
    id,
    title,
    status: ordered[0]!.level,
    detail: shown.join('; '),
    advice: [...new Set(ordered.map((f) => f.advice))].join(' '),
    ...(data && { data }),
  };
}

/**
 * Runs every point (see `orderPoints`) and gives their results in the listed order. A point that
 * throws is a failed point: the others still run, and those that need its facts are skipped.
 */
export async function runPoints<F, S, Id extends string>(
  points: readonly Point<F, S, Id>[],
  options: RunOptions<F, S>,
): Promise<PointResult<Id>[]> {
  const ids = new Set(points.map((point) => point.id));
  if (ids.size < points.length) throw new Error('two points have the same id');
  const facts: Partial<F> = { ...options.facts };
  // Why a fact is missing, as told by the point that could have given it.
  const missing = new Map<keyof F, string>();
  const results = new Map<Id, PointResult<Id>>();
  for (const point of orderPoints(points)) {
    const unmet = point.needs.find((fact) => facts[fact] === undefined);
    if (unmet !== undefined) {
      const info = options.table[unmet];
      const reason =
        missing.get(unmet) ?? (typeof info.missing === 'string' ? info.missing : info.missing(facts));
      results.set(point.id, {
        id: point.id,
        title: point.title,
        status: 'skip',
        detail: reason,
        advice: point.advice?.[unmet] ?? info.advice,
      });
      continue;
    }
    let outcome: Outcome<F>;
    const given: [keyof F, F[keyof F]][] = [];
    try {
      outcome = await point.run({ settings: options.settings, facts: Object.freeze({ ...facts }) as F });
      for (const [fact, value] of Object.entries(outcome.facts ?? {}) as [keyof F, F[keyof F]][]) {
        if (value === undefined) continue;
        if (!point.gives?.includes(fact)) throw new Error(`it gave ${String(fact)}, which it does not list`);
        if (facts[fact] !== undefined) throw new Error(`it gave ${String(fact)}, which was known already`);
        given.push([fact, value]);
      }
      for (const fact of Object.keys(outcome.missing ?? {}) as (keyof F)[]) {
        if (!point.gives?.includes(fact))
          throw new Error(`it says why ${String(fact)} is missing, which it does not list`);
      }
    } catch (error) {
      for (const fact of point.gives ?? []) missing.set(fact, `${point.id} could not be checked`);
      results.set(point.id, {
        id: point.id,
        title: point.title,
        status: 'fail',
        detail: `the checker failed on this point: ${error instanceof Error ? error.message : String(error)}`,
        advice: 'This is a fault of callcard check, not of the service: please report it.',
      });
      continue;
    }
    for (const [fact, value] of given) facts[fact] = value;
    for (const [fact, reason] of Object.entries(outcome.missing ?? {}) as [keyof F, string][]) {
      if (facts[fact] === undefined) missing.set(fact, reason);
    }
    results.set(point.id, judge(point.id, point.title, outcome.findings, outcome.passed, outcome.data));
  }
  return points.map((point) => results.get(point.id)!);
}
