import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { tempDir } from '../support/helper.js';

describe('configuration', () => {
  let dir: ReturnType<typeof tempDir>;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => dir.remove());

  const file = (yaml: string) => {
    const path = join(dir.path, 'callcard.yaml');
    writeFileSync(path, yaml);
    return path;
  };

  it('has defaults that run the service on the embedded store', () => {
    const config = loadConfig({ env: {} });
    expect(config).toMatchObject({ port: 8080, dataDir: './data' });
    expect(config.tenants).toHaveLength(1);
    expect(config.tenants[0]).toMatchObject({
      name: 'default',
      basePath: '/',
      dataDir: './data',
      region: 'CH',
      maxResults: 5,
      auth: { header: 'X-Execution-Token', tokens: [] },
      sources: [{ type: 'embedded', name: 'contacts', crmName: 'callcard', crmLogo: '/logo.svg' }],
    });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.tenants[0]!.sources[0])).toBe(true);
  });

  it('reads YAML, then env vars override it, then flags override both', () => {
    const path = file('port: 9000\nregion: de\nbasePath: services/\nmaxResults: 3\ndataDir: /var/lib/x\n');
    const config = loadConfig({
      file: path,
      env: {
        CALLCARD_PORT: '9100',
        CALLCARD_REGION: 'AT',
        CALLCARD_TOKEN: 'token-one-aaaaaaaaaaaa, token-two-bbbbbbbbbbbb',
        CALLCARD_BASE_PATH: '/api/v1',
        CALLCARD_MAX_RESULTS: '4',
        CALLCARD_DATA_DIR: '/tmp/cc',
      },
      overrides: { port: 9200 },
    });
    expect(config).toMatchObject({ port: 9200, dataDir: '/tmp/cc' });
    expect(config.tenants[0]).toMatchObject({
      region: 'AT',
      basePath: '/api/v1',
      maxResults: 4,
      dataDir: '/tmp/cc',
      auth: { tokens: ['token-one-aaaaaaaaaaaa', 'token-two-bbbbbbbbbbbb'] },
    });
  });

  it('takes the config path from CALLCARD_CONFIG and tokens from a file', () => {
    const tokens = join(dir.path, 'tokens');
    writeFileSync(tokens, 'from-a-file-cccccccccccc\n');
    const config = loadConfig({
      env: { CALLCARD_CONFIG: file('port: 7000\n'), CALLCARD_TOKEN_FILE: tokens },
    });
    expect(config.port).toBe(7000);
    // The file itself is kept, read when the service starts and again when it changes.
    expect(config.tenants[0]!.auth.tokenFile).toBe(tokens);
  });

  it('lists every problem by path', () => {
    const path = file(
      [
        'port: 99999',
        'region: XX',
        'maxResults: 0',
        'auth:',
        '  tokens: [short]',
        'sources:',
        '  - type: nosuch',
        'unknownKey: 1',
      ].join('\n'),
    );
    let error: unknown;
    try {
      loadConfig({ file: path, env: {} });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toMatch(/^port: /m);
    expect(problems).toMatch(/^region: .*ISO/m);
    expect(problems).toMatch(/^maxResults: /m);
    expect(problems).toMatch(/^auth\.tokens\.0: .*16/m);
    expect(problems).toMatch(/^sources\.0\.type: /m);
    expect(problems).toMatch(/unknownKey/);
  });

  it('rejects two sources with the same name', () => {
    expect(() =>
      loadConfig({
        env: {},
        overrides: { sources: [{ type: 'embedded' }, { type: 'embedded', name: 'contacts' }] },
      }),
    ).toThrow(/sources\.1\.name: "contacts" is used twice/);
  });

  it('says which file cannot be read or parsed', () => {
    expect(() => loadConfig({ file: join(dir.path, 'missing.yaml'), env: {} })).toThrow(
      /missing\.yaml: cannot be read/,
    );
    expect(() => loadConfig({ file: file('port: [1,\n'), env: {} })).toThrow(/not valid YAML/);
  });

  it('reports an env var with a bad value by the config path it sets', () => {
    expect(() => loadConfig({ env: { CALLCARD_MAX_RESULTS: 'lots' } })).toThrow(/maxResults: /);
  });
});

describe('source settings', () => {
  it('reports a misspelt setting of a source by its path', () => {
    expect(() =>
      loadConfig({ env: {}, overrides: { sources: [{ type: 'embedded', crmname: 'x' } as never] } }),
    ).toThrow(/sources\.0: Unrecognized key: "crmname"/);
  });
});

describe('store settings', () => {
  const tenants = {
    acme: { basePath: '/acme', auth: { tokens: ['a'.repeat(16)] } },
    'globex-eu': { basePath: '/globex', auth: { tokens: ['g'.repeat(16)] } },
  };
  const stores = (config: ReturnType<typeof loadConfig>) => config.tenants.map((tenant) => tenant.store);

  it('is the embedded store unless set; CALLCARD_STORE_URL makes it PostgreSQL, in schema callcard', () => {
    expect(stores(loadConfig({ env: {} }))).toEqual([{ type: 'sqlite' }]);
    expect(stores(loadConfig({ env: { CALLCARD_STORE_URL: 'postgres://cc@db/callcard' } }))).toEqual([
      { type: 'postgres', url: 'postgres://cc@db/callcard', schema: 'callcard', maxConnections: 10 },
    ]);
  });

  it('gives each tenant a schema of its own, unless it sets one', () => {
    const config = loadConfig({
      env: { CALLCARD_STORE_URL: 'postgres://cc@db/callcard' },
      overrides: {
        tenants: { ...tenants, 'globex-eu': { ...tenants['globex-eu'], store: { schema: 'gx' } } },
      },
    });
    expect(stores(config).map((store) => store.type === 'postgres' && store.schema)).toEqual([
      'callcard_acme',
      'gx',
    ]);
    const derived = loadConfig({
      env: {},
      overrides: { store: { url: 'postgres://cc@db/callcard' }, tenants },
    });
    expect(stores(derived).map((store) => store.type === 'postgres' && store.schema)).toEqual([
      'callcard_acme',
      'callcard_globex_eu',
    ]);
  });

  it('refuses a schema two tenants would share, a bad URL, and two passwords', () => {
    const problems = (overrides: Record<string, unknown>) => {
      try {
        loadConfig({ env: {}, overrides: overrides as never });
        return [];
      } catch (error) {
        return (error as ConfigError).problems;
      }
    };
    expect(problems({ store: { url: 'postgres://db/x', schema: 'same' }, tenants })).toEqual([
      'tenants.globex-eu.store.schema: is tenant "acme"\'s too',
    ]);
    expect(
      problems({ store: { type: 'postgres', url: 'mysql://db/x', passwordEnv: 'A', passwordFile: 'b' } }),
    ).toEqual([
      'store.url: must be a postgres:// URL',
      'store.passwordEnv: give only one of passwordEnv, passwordFile',
    ]);
    expect(problems({ store: { type: 'postgres', url: 'postgres://db/x', schema: 'Bad-Name' } })).toEqual([
      'store.schema: lower-case letters, digits and "_", not starting with a digit',
    ]);
    const long = `t${'x'.repeat(60)}`;
    expect(
      problems({
        store: { url: 'postgres://db/x' },
        tenants: { [long]: tenants.acme, other: tenants['globex-eu'] },
      }),
    ).toEqual([
      `tenants.${long}.store.schema: "callcard_${long}" is longer than 63 characters: set a shorter one`,
    ]);
  });
});

describe("the documentation's configuration examples", () => {
  // Whole configs in the README and the pages of docs/ (not the fragments that show one setting): they
  // must load as written.
  const root = resolve(import.meta.dirname, '../..');
  const pages = [
    'README.md',
    ...readdirSync(join(root, 'docs'))
      .filter((name) => name.endsWith('.md'))
      .sort()
      .map((name) => `docs/${name}`),
  ];
  const whole = pages.flatMap((page) =>
    [...readFileSync(join(root, page), 'utf8').matchAll(/```yaml\n([\s\S]*?)```/g)]
      .map((match) => match[1]!)
      .filter((block) => /^(# callcard\.yaml|port:|sources:\n {2}- type: sql {15})/.test(block))
      .map((block) => [`${page}: ${block.split('\n')[0]!}`, block] as const),
  );

  it.each(whole)('%s', (_first, block) => {
    const dir = tempDir();
    try {
      const file = join(dir.path, 'callcard.yaml');
      writeFileSync(file, block);
      expect(() => loadConfig({ file, env: {} })).not.toThrow();
    } finally {
      dir.remove();
    }
  });

  it('finds them', () => {
    expect(whole.map(([name]) => name.split(':')[0])).toEqual([
      'docs/configuration.md',
      'docs/configuration.md',
      'docs/sources.md',
      'docs/tenants.md',
    ]);
  });
});
