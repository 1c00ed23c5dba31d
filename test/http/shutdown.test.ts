import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { importFiles } from '../../src/import/importer.js';
import { createService } from '../../src/main.js';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { TOKEN, tempDir } from '../support/helper.js';

/** A server that answers after `ms`: a slow live source, and a slow workflow target. */
async function slowServer(
  ms: number,
  body: unknown,
): Promise<{ url: string; server: Server; seen: (text?: string) => number }> {
  const urls: string[] = [];
  const server = createServer((request, response) => {
    urls.push(request.url ?? '');
    request.resume();
    setTimeout(() => {
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    }, ms);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    seen: (text = '') => urls.filter((url) => url.includes(text)).length,
  };
}

describe('graceful stop under load', () => {
  it('answers the requests in flight, then stops; the journal and outbox stay consistent', async () => {
    const dir = tempDir();
    const crm = await slowServer(300, { results: [] });
    const target = await slowServer(400, { id: 'r1' });
    try {
      const config = loadConfig({
        env: {},
        overrides: {
          dataDir: dir.path,
          auth: { tokens: [TOKEN] },
          sources: [
            { type: 'embedded' },
            {
              type: 'rest',
              name: 'crm',
              mode: 'live',
              baseUrl: crm.url,
              search: { request: { url: '/search?q={e164}' }, items: 'results' },
              cache: { ttlMs: 0, missTtlMs: 0 },
            },
          ],
          workflows: { CallFlow: { actions: [{ type: 'webhook', url: `${target.url}/calls` }] } },
          delivery: { answerBudgetMs: 0 },
        },
      });
      const file = join(dir.path, 'contacts.csv');
      writeFileSync(file, 'id,name,phone\nq1,Quinn,021 552 20 00\n');
      const service = await createService(config, { logger: pino({ level: 'silent' }), startDelivery: true });
      await importFiles(service.tenants[0]!.store.contacts, {
        source: 'contacts',
        files: [file],
        replace: false,
        region: 'CH',
      });
      const address = await service.app.listen({ port: 0, host: '127.0.0.1' });
      const headers = { 'x-execution-token': TOKEN, 'content-type': 'application/json' };

      const post = (path: string, inputs: unknown) =>
        fetch(`${address}${path}`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ inputs }),
          signal: AbortSignal.timeout(20_000),
        }).then(
          async (response) => ({ status: response.status, body: await response.json() }),
          (error: Error) => ({ status: 0, body: String(error.cause ?? error) }),
        );

      // Calls first: answered at once, their deliveries to the slow target still running at the stop.
      const posted = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          post('/CallFlow', {
            direction: 'incoming',
            originatorNumber: `4144123${String(1000 + i)}`,
            destinationNumber: '41445556677',
            startedTime: `2026-11-27T09:${String(i).padStart(2, '0')}:00Z`,
          }),
        ),
      );
      expect(posted.map((answer) => answer.status)).toEqual(posted.map(() => 200));
      // Then lookups, held in their handlers by the slow live source when the stop begins.
      const lookups = Array.from({ length: 60 }, () => post('/Lookup', { phoneNumber: '41215522000' }));
      await expect
        .poll(() => crm.seen('41215522000'), { timeout: 10_000, interval: 5 })
        .toBeGreaterThanOrEqual(20);
      const inFlight = crm.seen('41215522000');
      expect(target.seen()).toBeGreaterThan(0);
      await service.close();

      const answered = await Promise.all(lookups);
      for (const answer of answered) {
        // Answered whole, or refused before it was taken (503 while closing, or no connection).
        expect([200, 503, 0]).toContain(answer.status);
        if (answer.status === 200) {
          expect(answer.body).toEqual([expect.objectContaining({ id: 'q1', name: 'Quinn' })]);
        }
      }
      // Every lookup already in its handler when the stop began got its answer.
      expect(answered.filter((answer) => answer.status === 200).length).toBeGreaterThanOrEqual(inFlight);

      // Every call that got its answer is in the journal, with its delivery queued or done.
      const store = openSqliteStore(dir.path);
      try {
        const recorded = posted;
        const deliveries = await store.outbox.list({});
        for (const answer of recorded) {
          const { id } = answer.body as { id: string };
          expect(await store.calls.get(id)).toBeDefined();
        }
        expect(deliveries.length).toBe(recorded.length);
        // No delivery is left claimed by the stopped process: the next start takes them all up.
        for (const delivery of deliveries) expect(['pending', 'done']).toContain(delivery.status);
      } finally {
        await store.close();
      }
    } finally {
      crm.server.close();
      target.server.close();
      dir.remove();
    }
  });
});
