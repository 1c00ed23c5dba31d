// What every scenario is given: the options, the paths and ports, the token, the results so far.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import type { Options } from '../options.js';
import type { ScenarioResults } from '../scenarios/index.js';
import { withTimeout } from './children.js';
import * as pgBench from './pg.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Seed of the generated contacts and of every shuffled order. */
export const SEED = 20_240_501;

/** The figures callcard aims at (docs/performance.md). */
export const TARGETS = {
  ratio: 0.5,
  p99Ms: 10,
  serverRssMb: 200,
  importRowsPerSecond: 40_000,
  callFlowPerSecond: 1500,
} as const;

export interface Paths {
  readonly work: string;
  /** The data dir of the imported contacts (served by the lookup and workflow scenarios). */
  readonly data: string;
  readonly csv: string;
  readonly csvMeta: string;
  readonly dist: string;
  readonly cli: string;
  readonly dataLive: string;
  readonly dataMirror: string;
}

export interface Ports {
  readonly callcard: number;
  readonly bare: number;
  readonly slow: number;
  readonly hook: number;
  /** The instances of a scale-out load: the callcard port and two more. */
  readonly instances: readonly number[];
}

export interface Context {
  readonly options: Options;
  readonly paths: Paths;
  readonly ports: Ports;
  /** The execution token callcard is started with. */
  readonly token: string;
  /** The build has rate limits (lifted for the loads, which come from one address with one token). */
  readonly hasLimits: boolean;
  /** Results of the scenarios that have run and succeeded so far. */
  readonly results: Partial<ScenarioResults>;
  /** One PostgreSQL connection for the run (options.pgUrl), made on first use. */
  pg(): Promise<pg.Client>;
  /** The connection if one was made. */
  pgIfConnected(): pg.Client | undefined;
}

export function createContext(options: Options): Context {
  const work = join(ROOT, 'bench', '.work');
  const dist = resolve(ROOT, options.dist);
  let client: pg.Client | undefined;
  let connecting: Promise<pg.Client> | undefined;
  return {
    options,
    paths: {
      work,
      data: join(work, 'data'),
      csv: join(work, 'contacts.csv'),
      csvMeta: join(work, 'contacts.meta.json'),
      dist,
      cli: join(dist, 'cli', 'index.js'),
      dataLive: join(work, 'data-live'),
      dataMirror: join(work, 'data-mirror'),
    },
    ports: {
      callcard: options.port,
      bare: options.port + 1,
      slow: options.port + 2,
      hook: options.port + 3,
      instances: [options.port, options.port + 4, options.port + 5],
    },
    token: randomBytes(24).toString('hex'),
    // The limits are one module in older builds, a folder since they can be shared through Redis.
    hasLimits: ['limits.js', join('limits', 'index.js')].some((file) => existsSync(join(dist, 'http', file))),
    results: {},
    pg() {
      connecting ??= (async () => {
        pgBench.assertLocal(options.pgUrl);
        client = await withTimeout(pgBench.connect(options.pgUrl), 15_000, 'PostgreSQL connect');
        return client;
      })();
      return connecting;
    },
    pgIfConnected: () => client,
  };
}
