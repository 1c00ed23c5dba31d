import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type * as z from 'zod';
import { CallcardError } from '../errors.js';
import { type Config, type ConfigInput, configSchema, SINGLE_TENANT } from './schema.js';

export class ConfigError extends CallcardError {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super('CONFIG_INVALID', `invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.problems = problems;
  }
}

export interface LoadConfigOptions {
  /** YAML file; `CALLCARD_CONFIG` when not given. */
  readonly file?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The directory a relative `file` is read against; the process's by default. */
  readonly cwd?: string;
  /** Highest precedence: command-line flags. */
  readonly overrides?: ConfigInput;
}

type Mutable = Record<string, unknown>;

/** Environment variables and the config path each one sets. */
const ENV: readonly (readonly [string, readonly string[], ((value: string) => unknown)?])[] = [
  ['CALLCARD_PORT', ['port']],
  ['CALLCARD_HOST', ['host']],
  ['CALLCARD_BASE_PATH', ['basePath']],
  ['CALLCARD_PUBLIC_URL', ['publicUrl']],
  ['CALLCARD_DATA_DIR', ['dataDir']],
  ['CALLCARD_STORE_URL', ['store', 'url']],
  ['CALLCARD_REGION', ['region']],
  ['CALLCARD_MAX_RESULTS', ['maxResults']],
  ['CALLCARD_TOKEN', ['auth', 'tokens'], splitList],
  ['CALLCARD_TOKEN_FILE', ['auth', 'tokenFile']],
  ['CALLCARD_TOKEN_HEADER', ['auth', 'header']],
  ['CALLCARD_LOOKUP_DEADLINE_MS', ['lookup', 'deadlineMs']],
  ['CALLCARD_LIMITS_REDIS_URL', ['limits', 'redis', 'url']],
  ['CALLCARD_LOG_LEVEL', ['log', 'level']],
  [
    'CALLCARD_TRUST_PROXY',
    ['trustProxy'],
    (value) => (value === 'true' ? true : value === 'false' ? false : value),
  ],
  ['CALLCARD_TLS_CERT', ['tls', 'cert']],
  ['CALLCARD_TLS_KEY', ['tls', 'key']],
  ['CALLCARD_METRICS', ['metrics', 'enabled'], (value) => value !== 'false' && value !== '0'],
  ['CALLCARD_METRICS_PORT', ['metrics', 'port']],
  ['CALLCARD_METRICS_HOST', ['metrics', 'host']],
  ['CALLCARD_METRICS_TOKEN', ['metrics', 'token']],
  ['CALLCARD_METRICS_TOKEN_FILE', ['metrics', 'token'], (file) => readFileSync(file, 'utf8').trim()],
];

function splitList(value: string): string[] {
  return value
    .split(/[\s,]+/)
    .map((item) => item.trim())
    .filter(Boolean);
}

function setPath(target: Mutable, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    node[key] = next && typeof next === 'object' && !Array.isArray(next) ? { ...(next as Mutable) } : {};
    node = node[key] as Mutable;
  }
  node[path.at(-1)!] = value;
}

/** Problems by path as written: without `tenants:`, the one tenant's settings sit at the top. */
function formatIssues(issues: readonly z.core.$ZodIssue[], single: boolean): string[] {
  return issues.map((issue) => {
    const path =
      single && issue.path[0] === 'tenants' && issue.path[1] === SINGLE_TENANT
        ? issue.path.slice(2)
        : issue.path;
    return `${path.length > 0 ? path.join('.') : '(root)'}: ${issue.message}`;
  });
}

/** Reads the YAML file, applies env vars then overrides, validates once; every problem is listed by path. */
export function loadConfig(options: LoadConfigOptions = {}): Readonly<Config> {
  const env = options.env ?? process.env;
  const file = options.file ?? env['CALLCARD_CONFIG'];
  let raw: Mutable = {};
  if (file) {
    let text: string;
    try {
      text = readFileSync(resolve(options.cwd ?? process.cwd(), file), 'utf8');
    } catch (error) {
      throw new ConfigError([
        `${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      ]);
    }
    try {
      raw = (parseYaml(text) as Mutable | null) ?? {};
    } catch (error) {
      throw new ConfigError([`${file}: not valid YAML (${(error as Error).message.split('\n')[0]})`]);
    }
    if (typeof raw !== 'object' || Array.isArray(raw))
      throw new ConfigError([`${file}: must be a YAML mapping`]);
  }
  const problems: string[] = [];
  for (const [name, path, convert] of ENV) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    try {
      setPath(raw, path, convert ? convert(value) : value);
    } catch (error) {
      problems.push(`${name}: ${(error as NodeJS.ErrnoException).code ?? 'cannot be read'}`);
    }
  }
  for (const [key, value] of Object.entries(options.overrides ?? {})) {
    if (value !== undefined) raw[key] = value;
  }
  raw['baseDir'] ??= file
    ? dirname(resolve(options.cwd ?? process.cwd(), file))
    : (options.cwd ?? process.cwd());
  const result = configSchema.safeParse(raw);
  if (!result.success) problems.push(...formatIssues(result.error.issues, raw['tenants'] === undefined));
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);
  return deepFreeze(result.data);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
