// The bench's options: each from its command-line flag, else its BENCH_* environment variable, else
// its default; checked by one zod schema (a bad value stops the run with every problem listed).
import { parseArgs } from 'node:util';
import { z } from 'zod';

const count = (min: number) => z.coerce.number().int().min(min);
const seconds = z.coerce.number().min(0);
const flag = z.stringbool();

/** Each option: its schema (with the default), environment variable, and the help line. */
const SPEC = {
  contacts: [count(100).default(1_000_000), 'BENCH_CONTACTS', 'contacts generated (everything else scales)'],
  duration: [seconds.default(15), 'BENCH_DURATION', 'seconds of each measured lookup load'],
  warmup: [seconds.default(3), 'BENCH_WARMUP', 'seconds of warm-up before each lookup load'],
  connections: [count(1).default(32), 'BENCH_CONNECTIONS', 'connections of the lookup loads'],
  reuseCsv: [flag.default(false), 'BENCH_REUSE_CSV', 'keep an existing CSV of the same size and seed'],
  sources: [
    flag.default(true),
    'BENCH_SOURCES',
    'run pg-table, live-sql, slow-source and mirror-sync by default',
  ],
  pgUrl: [
    z.url({ protocol: /^postgres(ql)?$/ }).default('postgres://postgres@127.0.0.1:5432/test'),
    'BENCH_PG_URL',
    'PostgreSQL for the sql scenarios (127.0.0.1 only)',
  ],
  pgPool: [
    count(1).max(1000).default(10),
    'BENCH_PG_POOL',
    'store.maxConnections of callcard on the PostgreSQL store (pg scenarios)',
  ],
  slowSource: [z.enum(['auto', 'rest', 'sql']).default('auto'), 'BENCH_SLOW_SOURCE', 'kind of slow source'],
  slowLookups: [count(2).default(200), 'BENCH_SLOW_LOOKUPS', 'lookups beside the slow source'],
  slowConcurrency: [count(1).default(16), 'BENCH_SLOW_CONCURRENCY', 'of them at once (second run)'],
  dist: [z.string().min(1).default('dist'), 'BENCH_DIST', 'the callcard build to run'],
  port: [
    count(1024).max(65_000).default(18_181),
    'BENCH_PORT',
    'first of 6 ports on 127.0.0.1 the bench uses',
  ],
  quietWait: [seconds.default(60), 'BENCH_QUIET_WAIT', 'seconds to wait, at most, for a quiet machine'],
  workflows: [
    flag.default(true),
    'BENCH_WORKFLOWS',
    'run callflow, callflow-down and outbox-drain by default',
  ],
  wfConnections: [count(1).default(16), 'BENCH_WF_CONNECTIONS', 'connections of the CallFlow load'],
  wfWarmup: [seconds.default(2), 'BENCH_WF_WARMUP', 'seconds of warm-up of the CallFlow load'],
  wfDuration: [seconds.default(10), 'BENCH_WF_DURATION', 'seconds of the measured CallFlow load'],
  wfBodies: [count(10).default(60_000), 'BENCH_WF_BODIES', 'CallFlow bodies prepared (every 10th a repeat)'],
  wfDownCalls: [count(50).default(10_000), 'BENCH_WF_DOWN_CALLS', 'calls posted while the target is down'],
  wfDownConcurrency: [count(1).default(8), 'BENCH_WF_DOWN_CONCURRENCY', 'of them posted at once'],
  wfDownBudgetMs: [count(0).default(0), 'BENCH_WF_DOWN_BUDGET_MS', 'answerBudgetMs while the target is down'],
  wfDrainLimit: [seconds.default(300), 'BENCH_WF_DRAIN_LIMIT', 'seconds the drain may take, at most'],
  drainCalls: [count(10).default(10_000), 'BENCH_DRAIN_CALLS', 'outbox-drain: deliveries kept while down'],
  drainKeys: [count(1).default(200), 'BENCH_DRAIN_KEYS', 'outbox-drain: order keys (contacts)'],
  drainConcurrency: [count(1).default(32), 'BENCH_DRAIN_CONCURRENCY', 'outbox-drain: worker concurrency'],
  minutes: [z.coerce.number().positive().default(60), 'BENCH_SOAK_MINUTES', 'soak-sync: minutes to run'],
  sampleSeconds: [
    z.coerce.number().min(0.5).default(5),
    'BENCH_SOAK_SAMPLE',
    'soak-sync: seconds between samples',
  ],
  soakContacts: [count(1).default(2000), 'BENCH_SOAK_CONTACTS', 'soak-sync: contacts in the mirrored file'],
  soakChangeSeconds: [
    seconds.default(1),
    'BENCH_SOAK_CHANGE',
    'soak-sync: the file is rewritten after each sync, at most this often (0: never)',
  ],
  syncIntervalMs: [count(1000).default(1000), 'BENCH_SOAK_SYNC_MS', 'soak-sync: the source sync.intervalMs'],
} as const;

type Spec = typeof SPEC;
type Key = keyof Spec;

const schema = z
  .object(
    Object.fromEntries(Object.entries(SPEC).map(([key, [type]]) => [key, type])) as {
      [K in Key]: Spec[K][0];
    },
  )
  .strict();

export type Options = z.output<typeof schema> & {
  /** Scenarios named on the command line (none: the default set). */
  readonly scenarios: readonly string[];
};

/** `reuseCsv` → `reuse-csv`. */
const flagName = (key: string): string => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

export function help(
  scenarios: readonly { name: string; description: string; byDefault: boolean }[],
): string {
  const lines = [
    'usage: npm run bench -- [options] [scenario...]',
    '',
    'scenarios (none named: every one marked *; prerequisites run too):',
    ...scenarios.map((s) => `  ${s.byDefault ? '*' : ' '} ${s.name.padEnd(14)} ${s.description}`),
    '',
    'options (each also from its environment variable; booleans: --x / --no-x, or 1/0, true/false):',
  ];
  for (const [key, [type, env, text]] of Object.entries(SPEC)) {
    const fallback = (type as z.ZodType).parse(undefined);
    const name = typeof fallback === 'boolean' ? `[no-]${flagName(key)}` : flagName(key);
    lines.push(`  --${name.padEnd(22)} ${env.padEnd(26)} ${text} (default ${String(fallback)})`);
  }
  lines.push('  --help, --list');
  return lines.join('\n');
}

export class OptionsError extends Error {}

/** Options from argv (without node and script) and the environment. */
export function parseOptions(argv: readonly string[], env: NodeJS.ProcessEnv): Options | 'help' {
  const booleans = Object.entries(SPEC)
    .filter(([, [type]]) => typeof (type as z.ZodType).parse(undefined) === 'boolean')
    .map(([key]) => flagName(key));
  const flags: Record<string, { type: 'boolean' | 'string'; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
    list: { type: 'boolean' },
  };
  for (const key of Object.keys(SPEC)) {
    const name = flagName(key);
    if (booleans.includes(name)) {
      flags[name] = { type: 'boolean' };
      flags[`no-${name}`] = { type: 'boolean' };
    } else flags[name] = { type: 'string' };
  }
  const parsed = parseArgs({ args: [...argv], allowPositionals: true, strict: true, options: flags });
  const values: Record<string, string | boolean | undefined> = parsed.values;
  if (values['help'] || values['list']) return 'help';
  const input: Record<string, unknown> = {};
  for (const [key, [, envName]] of Object.entries(SPEC)) {
    const name = flagName(key);
    const value = values[name];
    if (values[`no-${name}`] === true) input[key] = 'false';
    else if (value === true) input[key] = 'true';
    else if (typeof value === 'string') input[key] = value;
    else if (env[envName] !== undefined && env[envName] !== '') input[key] = env[envName];
  }
  const result = schema.safeParse(input);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const key = String(issue.path[0]);
      const envName = SPEC[key as Key]?.[1];
      return `  --${flagName(key)} (${envName}): ${issue.message}`;
    });
    throw new OptionsError(`bad bench options:\n${problems.join('\n')}`);
  }
  return { ...result.data, scenarios: parsed.positionals };
}
