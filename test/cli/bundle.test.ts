import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import type { Metafile } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleCli } from '../../scripts/bundle-cli.js';
import { importFiles } from '../../src/import/importer.js';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';

// The built `callcard` binary (`npm run build` bundles it): the bundle is made into a folder of its
// own, then run as a program, to show that it works as the sources do and loads only what it uses.

const ROOT = resolve(import.meta.dirname, '../..');
const RECORDER = resolve(import.meta.dirname, '../support/loaded-modules.mjs');

let dir: string;
let metafile: Metafile;
let config: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'callcard-bundle-'));
  // A package as installed: its package.json, its node_modules, dist/ made by the bundler.
  writeFileSync(join(dir, 'package.json'), readFileSync(join(ROOT, 'package.json')));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  metafile = await bundleCli(join(dir, 'dist'));
  config = join(dir, 'callcard.yaml');
  writeFileSync(config, ['sources:', '  - type: embedded', '    name: contacts'].join('\n'));
  const store = openSqliteStore(join(dir, 'data'));
  try {
    for (const [id, minute] of [
      ['call-1', 10],
      ['call-2', 20],
    ] as const) {
      await store.calls.record({
        id,
        workflow: 'crm',
        direction: 'incoming',
        status: 'missed',
        originatorNumber: id === 'call-1' ? '+41215522000' : '+41445551234',
        startedTime: `2026-11-26T14:${minute}:00Z`,
        inputs: {},
      });
    }
  } finally {
    await store.close();
  }
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  readonly code: number;
  readonly stdout: string;
  /** Packages whose code ran: loaded from node_modules, or compiled into a loaded file of the bundle. */
  readonly packages: Set<string>;
}

const packageOf = (path: string) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path)?.[1];

function run(args: readonly string[]): Promise<Run> {
  const list = join(dir, 'loaded.txt');
  writeFileSync(list, '');
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', RECORDER, join(dir, 'dist/cli/index.js'), ...args], {
      env: {
        PATH: process.env['PATH'] ?? '',
        LOADED_MODULES_FILE: list,
        CALLCARD_DATA_DIR: join(dir, 'data'),
      },
      cwd: dir,
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 60_000,
    });
    let stdout = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.on('error', fail);
    child.on('close', (code) => {
      const packages = new Set<string>();
      for (const line of readFileSync(list, 'utf8').split('\n')) {
        const path = line.replace(/^file:\/\//, '');
        const installed = packageOf(path);
        if (installed) packages.add(installed);
        // A file of the bundle: the packages compiled into it.
        const output = metafile.outputs[relative(ROOT, path)];
        for (const input of Object.keys(output?.inputs ?? {})) {
          const inlined = packageOf(input);
          if (inlined) packages.add(inlined);
        }
      }
      done({ code: code ?? -1, stdout, packages });
    });
  });
}

describe('the bundled command line', () => {
  it('is an entry and chunks, with the contacts worker beside the loader that starts it', () => {
    expect(existsSync(join(dir, 'dist/cli/index.js'))).toBe(true);
    expect(existsSync(join(dir, 'dist/chunks/build-worker.js'))).toBe(true);
    const loader = Object.entries(metafile.outputs).find(
      ([, output]) => 'src/contacts/load.ts' in output.inputs,
    );
    expect(loader?.[0]).toMatch(/\/dist\/chunks\/[^/]+\.js$/);
  });

  it('keeps of zod only what callcard uses: its English messages, not its other languages', () => {
    const inputs = Object.values(metafile.outputs)
      .flatMap((output) => Object.entries(output.inputs))
      .filter(([input, { bytesInOutput }]) => input.includes('node_modules/zod/') && bytesInOutput > 0)
      .map(([input]) => input);
    expect(inputs.some((input) => /\/locales\/en\.js$/.test(input))).toBe(true);
    // `import { z } from 'zod'` anywhere in src/ brings back the whole namespace, every language with it.
    expect(inputs.filter((input) => /\/locales\/(de|fr|it)\.js$/.test(input))).toEqual([]);
  });

  it('help: the command line parser alone', async () => {
    const { code, stdout, packages } = await run(['--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('Usage: callcard');
    expect(packages).toContain('commander');
    for (const name of ['zod', 'yaml', 'libphonenumber-js', 'better-sqlite3', 'pino', 'fastify'])
      expect(packages, name).not.toContain(name);
  });

  it('calls: the journal, numbers masked, with the config and the store only', async () => {
    const { code, stdout, packages } = await run(['-c', config, 'calls']);
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^TIME\s+WORKFLOW/);
    expect(lines.slice(1).map((line) => line.split(/\s+/).at(-1))).toEqual(['call-2', 'call-1']);
    expect(stdout).toContain('+41 21 *** ** 00');
    expect(stdout).not.toContain('+41215522000');
    for (const name of ['zod', 'yaml', 'better-sqlite3', 'libphonenumber-js'])
      expect(packages).toContain(name);
    for (const name of ['ldapts', 'pino', 'fastify', 'pg', 'mysql2', 'tsdav', 'piscina'])
      expect(packages, name).not.toContain(name);
  });

  it('calls --number and config check answer as the sources do', async () => {
    const filtered = await run(['-c', config, 'calls', '--number', '021 552 20 00']);
    expect(filtered.code).toBe(0);
    expect(filtered.stdout).toContain('call-1');
    expect(filtered.stdout).not.toContain('call-2');

    const checked = await run(['config', 'check', config]);
    expect(checked.code).toBe(0);
    expect(checked.packages).not.toContain('ldapts');
  });

  it('import: a CSV read in a thread of its own reports every skipped row and doubt as the sources do', async () => {
    const file = join(dir, 'contacts.csv');
    writeFileSync(
      file,
      [
        'id,name,phone,country,updated_at',
        'a,A,021 552 20 00,CH,2024-01-01',
        'b,,021 552 20 01,CH,',
        'c,"C\r\non two lines",021 552 20 02,XX,',
        'd,D,abc,CH,',
        '',
        'e,E,+49 30 2010 4729,,2025-01-01',
        'g,G,"0041 22 333 92 96\n077 333 92 96",,',
        'h,"H unclosed,021 552 20 09,,',
      ].join('\r\n'),
    );
    const data = join(dir, 'data-import');
    const output = await new Promise<string>((done, fail) => {
      const child = spawn(process.execPath, [join(dir, 'dist/cli/index.js'), 'import', file, '--replace'], {
        env: { PATH: process.env['PATH'] ?? '', CALLCARD_DATA_DIR: data },
        cwd: dir,
        timeout: 60_000,
      });
      let text = '';
      child.stdout.on('data', (chunk) => {
        text += chunk;
      });
      child.stderr.on('data', (chunk) => {
        text += chunk;
      });
      child.on('error', fail);
      child.on('close', (code) => (code === 0 ? done(text) : fail(new Error(`exit ${code}: ${text}`))));
    });
    // The same file read on the calling thread, from the sources.
    const store = openSqliteStore(join(dir, 'data-sources'));
    const expected: string[] = [];
    try {
      const summary = await importFiles(store.contacts, {
        source: 'contacts',
        files: [file],
        replace: true,
        region: 'CH',
        workers: 0,
        onSkip: (_, line, reason) => expected.push(`${file}:${line}: skipped: ${reason}`),
        onWarning: (_, line, message) => expected.push(`${file}:${line}: ${message}`),
      });
      expect(summary).toMatchObject({ read: 7, imported: 4, skipped: 3 });
    } finally {
      await store.close();
    }
    const lines = output.trim().split('\n');
    expect(lines.slice(0, -1).sort()).toEqual(expected.sort());
    expect(lines.at(-1)).toMatch(
      /^imported 4 of 7 entries into "contacts" \(replacing all\); 3 skipped; 4 contacts/,
    );
    expect(expected).toContain(`${file}:4: country "XX" is not known: national numbers read in CH`);
    expect(expected.some((line) => line.startsWith(`${file}:11: skipped: not valid CSV`))).toBe(true);
  });
});
