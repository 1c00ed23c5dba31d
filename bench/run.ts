// callcard benchmark: `npm run bench [-- options] [scenario...]` (builds, then runs this file with tsx).
// `npm run bench -- --help` lists the scenarios and options. Each scenario is a module of
// bench/scenarios/; what they share (callcard as a child process, the loader, /proc sampling, the
// summary table) is in bench/support/, the servers the bench starts in bench/servers/.
//
// The machine has 2 cores: the load generator and the server share them, as do the bare baseline and
// its loader, so the ratio compares like with like. Only 127.0.0.1 is contacted. Children are killed
// on exit. A summary is printed, and everything measured is written to bench/.work/results.json.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { help, type Options, OptionsError, parseOptions } from './options.js';
import { SCENARIOS, type ScenarioName } from './scenarios/index.js';
import type { Outcome, Scenario } from './scenarios/types.js';
import { emergencyCleanup, errorMessage, guardProcess, log } from './support/children.js';
import { type Context, createContext, ROOT, TARGETS } from './support/context.js';
import type { LoadResult } from './support/load.js';
import { Report } from './support/report.js';

type AnyScenario = Scenario<unknown>;

/** The named scenarios with what they need, or the default set; in run order. */
function selectScenarios(options: Options): AnyScenario[] {
  const byName = new Map<string, AnyScenario>(SCENARIOS.map((s) => [s.name, s]));
  const unknown = options.scenarios.filter((name) => !byName.has(name));
  if (unknown.length > 0)
    throw new OptionsError(
      `unknown scenario ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`,
    );
  const wanted = new Set<string>();
  const add = (name: ScenarioName) => {
    if (wanted.has(name)) return;
    wanted.add(name);
    for (const need of byName.get(name)?.needs ?? []) add(need);
  };
  if (options.scenarios.length > 0) for (const name of options.scenarios) add(name as ScenarioName);
  else {
    for (const s of SCENARIOS) {
      if (!s.byDefault) continue;
      if (s.group === 'sources' && !options.sources) continue;
      if (s.group === 'workflows' && !options.workflows) continue;
      add(s.name);
    }
  }
  return SCENARIOS.filter((s) => wanted.has(s.name));
}

/** Which callcard was measured: commit, and the files of src/ changed since. */
function sourceState(): { commit: string | null; uncommittedSrc: string[] } {
  const git = (...args: string[]) => {
    try {
      return execFileSync('git', args, {
        cwd: ROOT,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trimEnd();
    } catch {
      return null;
    }
  };
  const changed = git('status', '--porcelain', '--', 'src');
  return {
    commit: git('rev-parse', '--short', 'HEAD'),
    uncommittedSrc: changed ? changed.split('\n').map((l) => l.slice(3)) : [],
  };
}

function summarize(
  ctx: Context,
  ran: readonly AnyScenario[],
  outcomes: Map<string, Outcome<unknown>>,
  source: ReturnType<typeof sourceState>,
): string {
  const report = new Report();
  const notes: string[] = [];
  const footers: string[] = [];
  for (const scenario of ran) {
    const outcome = outcomes.get(scenario.name) ?? { ok: false, skipped: 'not run' };
    scenario.rows(report, outcome, ctx);
    if (outcome.ok) {
      notes.push(...(scenario.notes?.(outcome.result, ctx) ?? []));
      footers.push(...(scenario.footer?.(outcome.result, ctx) ?? []));
    }
  }
  const r = ctx.results;
  const loads = [r.lookup?.load, r.bare?.load, r['lookup-info']?.load].filter(
    (load): load is LoadResult => load !== undefined,
  );
  const noisy = loads.some(
    (load) => (load.cpuPercent?.others ?? 0) > 20 || (load.cpuPercent?.steal ?? 0) > 20,
  );
  const changed =
    source.uncommittedSrc.length > 0 ? ` + uncommitted changes in ${source.uncommittedSrc.join(', ')}` : '';
  return [
    '',
    `callcard bench: ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), ${Math.round(totalmem() / 2 ** 30)} GB, node ${process.version}`,
    `callcard ${source.commit ?? '?'}${changed}; scenarios: ${ran.map((s) => s.name).join(', ')}`,
    ...notes,
    '',
    ...report.table(),
    '',
    ...footers,
    ...(noisy
      ? [
          'WARNING: other processes or the hypervisor (steal) took more than 20% of a core during a ' +
            'measured run (see the CPU rows): req/s and latencies of that run are understated, and the ' +
            'comparisons between runs are skewed; server CPU per request is the steadier figure.',
        ]
      : []),
    '',
  ].join('\n');
}

async function main(): Promise<number> {
  let parsed: Options | 'help';
  let selected: AnyScenario[];
  try {
    parsed = parseOptions(process.argv.slice(2), process.env);
    if (parsed === 'help') {
      process.stdout.write(`${help(SCENARIOS)}\n`);
      return 0;
    }
    selected = selectScenarios(parsed);
  } catch (error) {
    if (error instanceof OptionsError || (error instanceof TypeError && 'code' in error)) {
      process.stderr.write(`${error.message}\n(npm run bench -- --help lists the options)\n`);
      return 2;
    }
    throw error;
  }
  const options = parsed;
  const ctx = createContext(options);
  if (!existsSync(ctx.paths.cli))
    throw new Error(`${ctx.paths.cli} missing: run "npm run build" first (npm run bench does)`);
  mkdirSync(ctx.paths.work, { recursive: true });
  const soak = selected.some((s) => s.name === 'soak-sync');
  // The whole run is cut off after this long, whatever it is doing.
  const onPostgres = selected.some((s) => s.name === 'import-pg');
  guardProcess((45 + (onPostgres ? 20 : 0) + (soak ? options.minutes + 5 : 0)) * 60_000);

  const source = sourceState();
  const startedAt = new Date().toISOString();
  const outcomes = new Map<string, Outcome<unknown>>();
  const results = ctx.results as Record<string, unknown>;
  for (const scenario of selected) {
    const missing = scenario.needs.find((need) => !(need in results));
    if (missing) {
      const why = outcomes.get(missing);
      const reason =
        why && !why.ok ? (why.error ? `${missing} failed` : `${missing} skipped`) : `${missing} not run`;
      outcomes.set(scenario.name, { ok: false, skipped: reason });
      log(`${scenario.name}: skipped (${reason})`);
      continue;
    }
    log(`scenario ${scenario.name}`);
    try {
      const result = await scenario.run(ctx);
      results[scenario.name] = result;
      outcomes.set(scenario.name, { ok: true, result });
    } catch (error) {
      log(`${scenario.name} failed: ${errorMessage(error)}`);
      outcomes.set(scenario.name, { ok: false, error: errorMessage(error) });
    }
  }
  for (const scenario of selected) {
    if (scenario.cleanup && outcomes.has(scenario.name)) await scenario.cleanup(ctx);
  }
  await ctx
    .pgIfConnected()
    ?.end()
    .catch(() => {});

  const pass: Record<string, boolean> = {};
  for (const scenario of selected) {
    const outcome = outcomes.get(scenario.name);
    if (outcome?.ok) Object.assign(pass, scenario.pass?.(outcome.result, ctx));
  }
  const summary = summarize(ctx, selected, outcomes, source);
  const file = join(ctx.paths.work, 'results.json');
  const { scenarios: named, ...settings } = options;
  await writeFile(
    file,
    `${JSON.stringify(
      {
        startedAt,
        finishedAt: new Date().toISOString(),
        source,
        machine: {
          cpus: cpus().length,
          model: cpus()[0]?.model,
          node: process.version,
          loadavgAtStart: loadavg(),
        },
        options: { ...settings, scenarios: selected.map((s) => s.name), named },
        targets: TARGETS,
        outcomes: Object.fromEntries(
          [...outcomes].map(([name, outcome]) => [name, outcome.ok ? { ok: true } : outcome]),
        ),
        results: ctx.results,
        pass,
        summary,
      },
      null,
      2,
    )}\n`,
  );
  process.stdout.write(summary);
  process.stdout.write(`(written to ${file})\n`);
  return [...outcomes.values()].some((o) => !o.ok && o.error !== undefined) ? 1 : 0;
}

try {
  process.exitCode = await main();
} catch (error) {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  emergencyCleanup();
  process.exitCode = 1;
}
