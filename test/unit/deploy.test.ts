/**
 * The high-availability recipes of deploy/: the compose file and the Kubernetes manifests parse,
 * hold what docs/high-availability.md says (two instances, the probes on /readyz and /healthz, the
 * disruption budget, the Secret the config reads its files from), and the callcard.yaml they carry
 * is a valid config on the PostgreSQL store with limits in Redis. With kubectl on the machine, the
 * manifests are also built by `kubectl kustomize` (there is no cluster to validate them against).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { loadConfig } from '../../src/config/load.js';

const DEPLOY = new URL('../../deploy/', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, DEPLOY), 'utf8');

/** A value inside parsed YAML, by its path: `at(doc, 'spec', 'replicas')`. */
const at = (value: unknown, ...path: (string | number)[]): unknown =>
  path.reduce<unknown>((inner, key) => (inner as Record<string | number, unknown> | undefined)?.[key], value);
const keysOf = (value: unknown) => Object.keys(value as object).sort();

/** Every document of a YAML file, failing on any parse error or warning. */
function documents(path: string): unknown[] {
  const docs = parseAllDocuments(read(path));
  for (const doc of docs) {
    expect(doc.errors.map(String), path).toEqual([]);
    expect(doc.warnings.map(String), path).toEqual([]);
  }
  return docs.map((doc) => doc.toJS());
}

/** A callcard.yaml, loaded as callcard loads it (from a file, with no environment). */
function loadCallcardYaml(text: string) {
  const dir = mkdtempSync(join(tmpdir(), 'callcard-deploy-'));
  try {
    const file = join(dir, 'callcard.yaml');
    writeFileSync(file, text);
    return loadConfig({ file, env: {} });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const MANIFESTS = ['secret.yaml', 'configmap.yaml', 'deployment.yaml', 'service.yaml', 'pdb.yaml'];

describe('deploy/compose.yaml', () => {
  const compose = documents('compose.yaml')[0]!;

  it('runs two instances on one PostgreSQL and Redis, behind a balancer checking /readyz', () => {
    expect(keysOf(at(compose, 'services'))).toEqual([
      'balancer',
      'callcard-1',
      'callcard-2',
      'postgres',
      'redis',
    ]);
    for (const name of ['callcard-1', 'callcard-2']) {
      const service = at(compose, 'services', name);
      expect(at(service, 'environment', 'CALLCARD_CONFIG')).toBe('/etc/callcard/callcard.yaml');
      expect(at(service, 'volumes')).toContain('./ha/callcard.yaml:/etc/callcard/callcard.yaml:ro');
      expect(at(service, 'secrets')).toEqual(['callcard-token', 'db-password']);
    }
    const haproxy = read('ha/haproxy.cfg');
    expect(haproxy).toMatch(/option httpchk GET \/readyz/);
    for (const name of ['callcard-1', 'callcard-2'])
      expect(haproxy).toContain(`server ${name} ${name}:8080 check`);
  });

  it('gives every instance a valid config: the store in PostgreSQL, limits in Redis, secrets from files', () => {
    const config = loadCallcardYaml(read('ha/callcard.yaml'));
    const tenant = config.tenants[0]!;
    expect(tenant.store).toMatchObject({
      type: 'postgres',
      url: 'postgres://callcard@postgres:5432/callcard',
      passwordFile: '/run/secrets/db-password',
    });
    expect(tenant.limits.redis).toMatchObject({ url: 'redis://redis:6379' });
    expect(tenant.auth.tokenFile).toBe('/run/secrets/callcard-token');
  });
});

describe('deploy/kubernetes', () => {
  const byKind = new Map<string, unknown>();
  for (const file of MANIFESTS)
    for (const doc of documents(`kubernetes/${file}`)) byKind.set(at(doc, 'kind') as string, doc);
  const labels = { 'app.kubernetes.io/name': 'callcard' };

  it('has the Secret, the config, the Deployment, its Service and its disruption budget', () => {
    expect([...byKind.keys()].sort()).toEqual([
      'ConfigMap',
      'Deployment',
      'PodDisruptionBudget',
      'Secret',
      'Service',
    ]);
    const kustomization = documents('kubernetes/kustomization.yaml')[0]!;
    expect([...(at(kustomization, 'resources') as string[])].sort()).toEqual([...MANIFESTS].sort());
  });

  it('runs two or more ready instances, probed on /readyz and /healthz, never all taken down', () => {
    const spec = at(byKind.get('Deployment'), 'spec');
    const replicas = at(spec, 'replicas') as number;
    expect(replicas).toBeGreaterThanOrEqual(2);
    expect(at(spec, 'selector', 'matchLabels')).toEqual(labels);
    expect(at(spec, 'strategy', 'rollingUpdate', 'maxUnavailable')).toBe(0);
    const container = at(spec, 'template', 'spec', 'containers', 0);
    expect(at(container, 'readinessProbe', 'httpGet')).toEqual({ path: '/readyz', port: 'http' });
    expect(at(container, 'livenessProbe', 'httpGet')).toEqual({ path: '/healthz', port: 'http' });
    expect(at(container, 'ports')).toEqual([{ name: 'http', containerPort: 8080 }]);
    expect(at(byKind.get('Service'), 'spec', 'selector')).toEqual(labels);
    const budget = at(byKind.get('PodDisruptionBudget'), 'spec');
    expect(at(budget, 'selector', 'matchLabels')).toEqual(labels);
    expect(at(budget, 'minAvailable')).toBeLessThan(replicas);
  });

  it("reads its config from the ConfigMap and its secrets from the Secret's files", () => {
    const config = loadCallcardYaml(at(byKind.get('ConfigMap'), 'data', 'callcard.yaml') as string);
    const tenant = config.tenants[0]!;
    expect(tenant.store.type).toBe('postgres');
    expect(tenant.limits.redis).toBeDefined();
    const mounts = at(byKind.get('Deployment'), 'spec', 'template', 'spec', 'containers', 0, 'volumeMounts');
    const mount = (mounts as { name: string; mountPath: string }[]).find((m) => m.name === 'secrets')!;
    const keys = keysOf(at(byKind.get('Secret'), 'stringData'));
    const files = [tenant.auth.tokenFile, (tenant.store as { passwordFile?: string }).passwordFile];
    expect(files.sort()).toEqual(keys.map((key) => `${mount.mountPath}/${key}`));
  });

  it('builds with kubectl kustomize, where kubectl is installed', (context) => {
    let out: string;
    try {
      out = execFileSync('kubectl', ['kustomize', new URL('kubernetes', DEPLOY).pathname], {
        encoding: 'utf8',
      });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        context.skip('kubectl is not installed: the manifests are only parsed');
      }
      throw error;
    }
    const kinds = parseAllDocuments(out).map((doc) => at(doc.toJS(), 'kind') as string);
    expect(kinds.sort()).toEqual([...byKind.keys()].sort());
    expect(parse(read('kubernetes/kustomization.yaml'))['kind']).toBe('Kustomization');
  });
});
