import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

// The checker is a client of the API: it reaches a service over HTTP only, never through callcard's
// own modules, so that what it checks is what any CONNECTOR would see.

const ROOT = resolve(import.meta.dirname, '../../src/check');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sources(join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [join(dir, entry.name)]
        : [],
  );
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const statics = [...text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+'([^']+)'/gms)];
  const dynamics = [...text.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g)];
  return [...statics, ...dynamics].map((match) => match[1]!);
}

describe('src/check imports', () => {
  const files = sources(ROOT);

  it('finds the modules and their imports', () => {
    expect(files.map((file) => relative(ROOT, file))).toContain('points/lookup.ts');
    expect(importsOf(join(ROOT, 'checks.ts'))).toContain('./runner.js');
  });

  it('imports nothing of callcard outside src/check (no http/, store/, sources/...)', () => {
    for (const file of files) {
      for (const specifier of importsOf(file)) {
        const where = `${relative(ROOT, file)} imports ${specifier}`;
        // Builtins and packages; only relative paths lead into callcard.
        if (!specifier.startsWith('.')) continue;
        const target = relative(ROOT, resolve(dirname(file), specifier));
        expect(target.startsWith('..'), where).toBe(false);
      }
    }
  });

  it('keeps the runner free of the points, and the points free of the entry module', () => {
    expect(importsOf(join(ROOT, 'runner.ts')).every((s) => s === './shape.js')).toBe(true);
    for (const file of sources(join(ROOT, 'points'))) {
      expect(importsOf(file), relative(ROOT, file)).not.toContain('../checks.js');
    }
  });
});
