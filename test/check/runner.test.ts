import { describe, expect, it } from 'vitest';
import { FACTS, type Facts } from '../../src/check/points/context.js';
import { POINTS } from '../../src/check/points/index.js';
import {
  type FactTable,
  judge,
  orderPoints,
  type Point,
  type PointResult,
  runPoints,
} from '../../src/check/runner.js';
import type { Finding } from '../../src/check/shape.js';

// A small world of its own: the runner knows nothing of the CONNECTOR.
interface World {
  readonly option: string;
  readonly door: 'open';
  readonly key: string;
}

const TABLE: FactTable<World> = {
  option: { missing: 'no --option given', advice: 'Pass --option.' },
  door: { missing: 'the door is shut', advice: 'Open the door first.' },
  key: {
    missing: (facts) => (facts.option === undefined ? 'no --option, so no key' : 'no key found'),
    advice: 'Find the key first.',
  },
};

type WorldPoint = Point<World, { readonly log: string[] }>;

const found = (level: Finding['level'], detail: string, advice = `fix ${detail}`): Finding => ({
  level,
  detail,
  advice,
});

function point(spec: Partial<WorldPoint> & Pick<WorldPoint, 'id'>): WorldPoint {
  return {
    title: spec.id,
    needs: [],
    run: ({ settings }) => {
      settings.log.push(spec.id);
      return { findings: [], passed: 'ok' };
    },
    ...spec,
  };
}

async function run(points: WorldPoint[], facts: Partial<World> = {}) {
  const log: string[] = [];
  const results = await runPoints(points, { settings: { log }, facts, table: TABLE });
  const byId = Object.fromEntries(results.map((result) => [result.id, result])) as Record<
    string,
    PointResult
  >;
  return { log, results, byId };
}

describe('check runner: order', () => {
  it('keeps the listed order where the needs allow it', () => {
    const points = [
      point({ id: 'a', gives: ['door'] }),
      point({ id: 'b', needs: ['door'] }),
      point({ id: 'c' }),
    ];
    expect(orderPoints(points).map((p) => p.id)).toEqual(['a', 'b', 'c']);
  });

  it('runs a point after the points that give what it needs or uses, and reports in the listed order', async () => {
    const points = [
      point({
        id: 'uses-key',
        uses: ['key'],
        run: ({ settings, facts }) => {
          settings.log.push(`uses-key saw ${facts.key}`);
          return { findings: [], passed: `key ${facts.key}` };
        },
      }),
      point({
        id: 'needs-door',
        needs: ['door'],
        run: ({ settings, facts }) => {
          settings.log.push(`needs-door saw ${facts.door}`);
          return { findings: [], passed: 'ok' };
        },
      }),
      point({
        id: 'gives-key',
        needs: ['door'],
        gives: ['key'],
        run: ({ settings }) => {
          settings.log.push('gives-key');
          return { findings: [], passed: 'ok', facts: { key: 'k1' } };
        },
      }),
      point({
        id: 'gives-door',
        gives: ['door'],
        run: ({ settings }) => {
          settings.log.push('gives-door');
          return { findings: [], passed: 'ok', facts: { door: 'open' } };
        },
      }),
    ];
    const { log, results, byId } = await run(points);
    expect(log).toEqual(['gives-door', 'needs-door saw open', 'gives-key', 'uses-key saw k1']);
    expect(results.map((r) => r.id)).toEqual(['uses-key', 'needs-door', 'gives-key', 'gives-door']);
    expect(byId['uses-key']).toMatchObject({ status: 'pass', detail: 'key k1' });
  });

  it('refuses points that wait for each other, naming them', () => {
    const points = [
      point({ id: 'x', needs: ['key'], gives: ['door'] }),
      point({ id: 'y', needs: ['door'], gives: ['key'] }),
      point({ id: 'z' }),
    ];
    expect(() => orderPoints(points)).toThrow('the points x, y wait for each other');
  });

  it('refuses two points with the same id', async () => {
    await expect(run([point({ id: 'a' }), point({ id: 'a' })])).rejects.toThrow(/same id/);
  });
});

describe('check runner: skips', () => {
  it("skips a point whose need is unmet, with the first missing need's reason and advice", async () => {
    const { log, byId } = await run([
      point({ id: 'needs-option-and-door', needs: ['option', 'door'] }),
      point({ id: 'needs-door-and-option', needs: ['door', 'option'] }),
    ]);
    expect(log).toEqual([]);
    expect(byId['needs-option-and-door']).toEqual({
      id: 'needs-option-and-door',
      title: 'needs-option-and-door',
      status: 'skip',
      detail: 'no --option given',
      advice: 'Pass --option.',
    });
    expect(byId['needs-door-and-option']).toMatchObject({
      status: 'skip',
      detail: 'the door is shut',
      advice: 'Open the door first.',
    });
  });

  it('takes the reason from the point that could have given the fact, and the advice from the point when it has one', async () => {
    const { byId } = await run(
      [
        point({
          id: 'gate',
          gives: ['door'],
          run: () => ({
            findings: [found('fail', 'the door is locked')],
            passed: '',
            missing: { door: 'the door is locked (see gate)' },
          }),
        }),
        point({ id: 'behind', needs: ['door'] }),
        point({ id: 'advised', needs: ['door'], advice: { door: 'Unlock the door with --option.' } }),
      ],
      { option: 'o' },
    );
    expect(byId['gate']).toMatchObject({ status: 'fail', detail: 'the door is locked' });
    expect(byId['behind']).toMatchObject({
      status: 'skip',
      detail: 'the door is locked (see gate)',
      advice: 'Open the door first.',
    });
    expect(byId['advised']).toMatchObject({ status: 'skip', advice: 'Unlock the door with --option.' });
  });

  it('asks the fact why it is missing when its reason depends on other facts', async () => {
    const keyPoint = point({ id: 'needs-key', needs: ['key'] });
    expect((await run([keyPoint])).byId['needs-key']?.detail).toBe('no --option, so no key');
    expect((await run([keyPoint], { option: 'o' })).byId['needs-key']?.detail).toBe('no key found');
  });
});

describe('check runner: failures', () => {
  it('runs every other point after a point that fails', async () => {
    const { log, byId } = await run([
      point({
        id: 'failing',
        gives: ['door'],
        run: ({ settings }) => {
          settings.log.push('failing');
          return { findings: [found('fail', 'broken')], passed: '', facts: { door: 'open' } };
        },
      }),
      point({ id: 'after', needs: ['door'] }),
    ]);
    expect(log).toEqual(['failing', 'after']);
    expect(byId['failing']).toMatchObject({ status: 'fail', detail: 'broken', advice: 'fix broken' });
    expect(byId['after']).toMatchObject({ status: 'pass' });
  });

  it('reports a point that throws as failed, runs the others, and skips those that need its facts', async () => {
    const { log, results, byId } = await run([
      point({
        id: 'throws',
        gives: ['door'],
        run: async () => {
          throw new Error('unexpected answer');
        },
      }),
      point({ id: 'needs-door', needs: ['door'] }),
      point({ id: 'free' }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fail', 'skip', 'pass']);
    expect(byId['throws']?.detail).toBe('the checker failed on this point: unexpected answer');
    expect(byId['throws']?.advice).toMatch(/fault of callcard check/);
    expect(byId['needs-door']?.detail).toBe('throws could not be checked');
    expect(log).toEqual(['free']);
  });

  it('fails a point that gives a fact it does not list, and keeps the fact from later points', async () => {
    const { byId } = await run([
      point({ id: 'sly', run: () => ({ findings: [], passed: 'ok', facts: { door: 'open' } }) }),
      point({ id: 'needs-door', needs: ['door'] }),
    ]);
    expect(byId['sly']).toMatchObject({ status: 'fail' });
    expect(byId['sly']?.detail).toMatch(/gave door, which it does not list/);
    expect(byId['needs-door']).toMatchObject({ status: 'skip', detail: 'the door is shut' });
  });

  it('gives a point a frozen copy of the facts: it cannot change what others see', async () => {
    const { byId } = await run(
      [
        point({
          id: 'meddler',
          run: ({ facts }) => {
            (facts as { option: string }).option = 'changed';
            return { findings: [], passed: 'ok' };
          },
        }),
        point({
          id: 'reader',
          needs: ['option'],
          run: ({ facts }) => ({ findings: [], passed: `option ${facts.option}` }),
        }),
      ],
      { option: 'given' },
    );
    expect(byId['meddler']).toMatchObject({ status: 'fail' });
    expect(byId['reader']).toMatchObject({ status: 'pass', detail: 'option given' });
  });
});

describe('check runner: judging findings', () => {
  it('is a pass with the pass detail and data when nothing was found', () => {
    expect(judge('p', 'P', [], 'all good', { n: 1 })).toEqual({
      id: 'p',
      title: 'P',
      status: 'pass',
      detail: 'all good',
      data: { n: 1 },
    });
  });

  it('puts failures first, shows four findings and counts the rest, and says each advice once', () => {
    const result = judge(
      'p',
      'P',
      [
        found('warn', 'w1', 'same'),
        found('fail', 'f1', 'same'),
        found('warn', 'w2'),
        found('fail', 'f2'),
        found('warn', 'w3'),
        found('warn', 'w4'),
      ],
      'unused',
    );
    expect(result).toEqual({
      id: 'p',
      title: 'P',
      status: 'fail',
      detail: 'f1; f2; w1; w2; 2 more',
      advice: 'same fix f2 fix w2 fix w3 fix w4',
    });
    expect(judge('p', 'P', [found('warn', 'w')], '').status).toBe('warn');
  });
});

describe("callcard check's table of points", () => {
  it('runs the points in the order they are reported', () => {
    expect(orderPoints(POINTS).map((p) => p.id)).toEqual(POINTS.map((p) => p.id));
  });

  it('needs and uses only facts from the command line or given by a point, each with a reason', () => {
    const fromCommandLine = new Set<keyof Facts>(['number', 'workflow', 'token']);
    const given = new Set(POINTS.flatMap((p) => p.gives ?? []));
    for (const p of POINTS) {
      for (const fact of [...p.needs, ...(p.uses ?? [])]) {
        expect(fromCommandLine.has(fact) || given.has(fact), `${p.id}: ${fact}`).toBe(true);
        expect(FACTS[fact].advice, fact).toBeTruthy();
      }
    }
    for (const fact of given) expect(fromCommandLine.has(fact), fact).toBe(false);
  });
});
