import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { build, inCI, type TestService, tempDir } from '../support/helper.js';
import { addAccount, PASSWORD } from './support.js';

/**
 * The console driven in a real browser: Debian's Chromium (`apt-get install -y chromium`), headless.
 * Playwright starts it on a fresh profile directory of its own (it refuses a --user-data-dir argument).
 * Each page is checked with axe-core (no serious or critical violation), must load without a
 * Content-Security-Policy violation, and is saved as a screenshot for docs/console.md.
 */

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOTS = resolve(import.meta.dirname, '../../docs/screenshots');
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

const ACME_TOKEN = 'acme-token-0123456789abcdef';
const BASE = '/acme/admin';

function describeWithBrowser(name: string, body: () => void): void {
  if (existsSync(CHROMIUM)) describe(name, body);
  else if (inCI) {
    describe(name, () => {
      it('has its browser', () => {
        throw new Error(`no Chromium at ${CHROMIUM} (apt-get install -y chromium; required under CI=true)`);
      });
    });
  } else {
    console.warn(`skipping "${name}": no Chromium at ${CHROMIUM} (apt-get install -y chromium)`);
    describe.skip(name, body);
  }
}

/** Violations of axe-core's rules of impact serious or critical on the page as it is now. */
async function seriousViolations(page: Page): Promise<string[]> {
  await page.evaluate(AXE);
  const violations = await page.evaluate(async () => {
    const axe = (
      globalThis as unknown as {
        axe: {
          run(): Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }>;
        };
      }
    ).axe;
    return (await axe.run()).violations;
  });
  return violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .map(
      (violation) => `${violation.id}: ${violation.nodes.map((node) => node.target.join(' ')).join(', ')}`,
    );
}

/**
 * Submits a form made in the page (the policy lets forms post to this origin only, and no script
 * fetch anything), with the session's token from the sign-out form; answers the status.
 */
async function postByHand(page: Page, action: string, fields: Record<string, string>): Promise<number> {
  const [response] = await Promise.all([
    page.waitForResponse((answer) => new URL(answer.url()).pathname === action),
    page.evaluate(
      ({ action, fields }) => {
        const token = (document.querySelector('input[name="_csrf"]') as HTMLInputElement).value;
        const form = document.createElement('form');
        form.method = 'post';
        form.action = action;
        for (const [name, value] of Object.entries({ ...fields, _csrf: token })) {
          const input = document.createElement('input');
          input.type = 'hidden';
          input.name = name;
          input.value = value;
          form.append(input);
        }
        document.body.append(form);
        form.submit();
      },
      { action, fields },
    ),
  ]);
  await page.waitForURL((url) => url.pathname === action);
  await page.waitForLoadState();
  return response.status();
}

describeWithBrowser('the console in a browser', () => {
  // A real browser on a busy machine: generous caps, never a measure of speed.
  vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });
  let service: TestService;
  let browser: Browser;
  let origin: string;
  let crmDir: ReturnType<typeof tempDir>;
  const contexts: BrowserContext[] = [];
  /** What the browser reported against the Content-Security-Policy. */
  const policyViolations: string[] = [];

  /** A fresh browser profile's tab (no cookies), in English unless told. */
  async function newPage(locale = 'en-GB', viewport = { width: 1200, height: 800 }): Promise<Page> {
    const context = await browser.newContext({ locale, viewport });
    contexts.push(context);
    const page = await context.newPage();
    page.on('console', (message) => {
      if (/Content.Security.Policy/i.test(message.text())) policyViolations.push(message.text());
    });
    return page;
  }

  async function signIn(page: Page, name: string, password = PASSWORD, base = BASE): Promise<void> {
    await page.goto(`${origin}${base}`);
    await page.getByLabel('Name').fill(name);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForLoadState();
  }

  /** Checks the page with axe and saves its screenshot. */
  async function checkAndShoot(page: Page, name: string): Promise<void> {
    expect(await seriousViolations(page)).toEqual([]);
    await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
  }

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    // A mirrored source, synced from the overview.
    crmDir = tempDir('callcard-crm-');
    const crmFile = join(crmDir.path, 'crm.csv');
    writeFileSync(crmFile, 'id,name,company,phone\n9,Carla Rossi,Rossi Sagl,091 555 12 34\n');
    service = await build({
      tenants: {
        acme: {
          basePath: '/acme',
          auth: { tokens: [ACME_TOKEN] },
          sources: [{ type: 'embedded' }, { type: 'file', name: 'crm', path: crmFile }],
        },
        globex: { basePath: '/globex', auth: { tokens: ['globex-token-0123456789abcdef'] } },
        // Its token is the one callcard generates: the console rotates it.
        initech: { basePath: '/initech', auth: { tokens: [] } },
      },
    });
    const [acme, globex, initech] = service.tenants;
    await service.importCsv(
      'id,first_name,last_name,company,phone,mobile,email\n' +
        '1,Alexa,Holiday,White Cross Co,021 552 20 00,079 123 45 67,alexa@example.com\n' +
        '2,Bruno,Keller,Keller AG,044 555 66 77,,bruno@example.com\n',
      { tenant: 'acme' },
    );
    await addAccount(acme!.store.admin, 'alice', 'tenant', 'acme');
    await addAccount(acme!.store.admin, 'robin', 'read-only', 'acme');
    await addAccount(globex!.store.admin, 'gina', 'tenant', 'globex');
    await addAccount(initech!.store.admin, 'ivan', 'tenant', 'initech');
    await addAccount(initech!.store.admin, 'rita', 'read-only', 'initech');

    const journal = acme!.store.calls;
    const call = (
      id: string,
      direction: 'incoming' | 'outgoing',
      other: string,
      started: string,
      answered = true,
    ) =>
      journal.record({
        id,
        workflow: 'CallFlow',
        direction,
        status: answered ? 'answered' : 'missed',
        originatorNumber: direction === 'incoming' ? other : '41445556677',
        destinationNumber: direction === 'incoming' ? '41445556677' : other,
        startedTime: started,
        ...(answered && { answeredTime: started, endedTime: started, durationSeconds: 95 }),
        contactCrmId: other === '41215522000' ? '1' : '2',
        inputs: {},
      });
    await call('call-alexa-in', 'incoming', '41215522000', '2026-11-26T09:00:00Z');
    await call('call-bruno-out', 'outgoing', '41445556600', '2026-11-26T10:30:00Z');
    await call('call-alexa-missed', 'incoming', '41215522000', '2026-11-27T08:15:00Z', false);
    // A delivery that failed for good: the CRM refused it.
    const now = Date.now();
    await acme!.store.outbox.enqueue(
      [
        {
          id: 'CallFlow:call-alexa-in:0',
          workflow: 'CallFlow',
          callId: 'call-alexa-in',
          action: 0,
          actionType: 'webhook',
          orderKey: 'contact:1',
          payload: {},
          maxAttempts: 1,
        },
      ],
      now,
    );
    await acme!.store.outbox.claim('test', now, 60_000, 1);
    await acme!.store.outbox.fail(
      'CallFlow:call-alexa-in:0',
      'test',
      'HTTP 502 from the CRM',
      undefined,
      now,
    );

    await service.app.listen({ port: 0, host: '127.0.0.1' });
    const address = service.app.server.address();
    if (!address || typeof address === 'string') throw new Error('no port');
    origin = `http://127.0.0.1:${address.port}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }, 120_000);

  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    await browser?.close();
    await service?.close();
    crmDir?.remove();
    expect(policyViolations).toEqual([]);
  });

  it('refuses a wrong password, then signs in to the overview', async () => {
    const page = await newPage();
    await signIn(page, 'alice', 'not the password');
    await expect.poll(() => page.getByRole('alert').textContent()).toBe('Wrong name or password.');
    await checkAndShoot(page, 'sign-in');
    // The CONNECTOR looks up three numbers: two known, one not.
    for (const number of ['41215522000', '41795554433', '41445556677']) {
      const answer = await fetch(`${origin}/acme/Lookup`, {
        method: 'POST',
        headers: { 'x-execution-token': ACME_TOKEN, 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: { phoneNumber: number } }),
      });
      expect(answer.status).toBe(200);
    }
    await signIn(page, 'alice');
    expect(new URL(page.url()).pathname).toBe(BASE);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Overview');
    expect(await page.locator('[data-figure="lookups-hour"]').textContent()).toBe('3');
    expect(await page.locator('[data-figure="per-minute"]').textContent()).toBe('0.2');
    expect(await page.locator('[data-figure="hit-share"]').textContent()).toBe('66.7%');
    expect(await page.locator('[data-figure="errors"]').textContent()).toBe('0');
    expect(await page.locator('[data-figure="last-lookup"] time').count()).toBe(1);
    // The mirrored source, synced at once from here.
    await page.getByRole('button', { name: 'Everything (crm)' }).click();
    await page.waitForLoadState();
    expect(await page.getByRole('status').textContent()).toContain('The sync has started');
    // The sync's outcome comes to the page on its own (server-sent events), without a reload.
    await expect
      .poll(() => page.locator('[data-source="crm"] td').nth(1).textContent(), { timeout: 60_000 })
      .toBe('1');
    expect(await page.locator('[data-source="crm"] [data-cell="health"]').textContent()).toBe('healthy');
    expect(await page.locator('[data-source="contacts"] td').nth(1).textContent()).toBe('2');
    expect(await page.locator('[data-figure="outbox-dead"]').textContent()).toBe('1');
    await checkAndShoot(page, 'overview');
  });

  it('updates the overview live: a lookup made meanwhile shows without a reload', async () => {
    const page = await newPage();
    await signIn(page, 'alice');
    const figure = page.locator('[data-figure="lookups-hour"]');
    const before = Number(await figure.textContent());
    // Marks this page: a reload would lose the mark.
    await page.evaluate(() => {
      (window as unknown as { mark: number }).mark = 42;
    });
    const answer = await fetch(`${origin}/acme/Lookup`, {
      method: 'POST',
      headers: { 'x-execution-token': ACME_TOKEN, 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: { phoneNumber: '41445556677' } }),
    });
    expect(answer.status).toBe(200);
    await expect.poll(() => figure.textContent(), { timeout: 60_000 }).toBe(String(before + 1));
    expect(await page.evaluate(() => (window as unknown as { mark?: number }).mark)).toBe(42);
    expect(await page.locator('[data-figure="last-lookup"] time').count()).toBe(1);
  });

  it('tests a number: each step of reading it, each source, the card', async () => {
    const page = await newPage();
    await signIn(page, 'alice');
    await page.getByRole('link', { name: 'Test a number' }).click();
    await page.getByLabel('Number').fill('+41 (0)21 552 20 00');
    await page.getByRole('button', { name: 'Look it up' }).click();
    await page.waitForLoadState();
    expect(await page.locator('[data-step="cleaned"]').textContent()).toBe('+41215522000');
    expect(await page.locator('[data-step="region"]').textContent()).toBe('CH');
    expect(await page.locator('[data-step="key"]').textContent()).toBe('+41215522000');
    expect(await page.locator('[data-source="contacts"] td').nth(1).textContent()).toBe('answered');
    const card = page.locator('[data-card="1"]');
    expect(await card.locator('.card-name').textContent()).toBe('Alexa Holiday');
    expect(await card.locator('.card-company').textContent()).toBe('White Cross Co');
    expect(await card.locator('.action').allTextContents()).toEqual(['CallFlow']);
    await checkAndShoot(page, 'test-a-number');
  });

  it('filters the journal by direction, number and date', async () => {
    const page = await newPage();
    await signIn(page, 'alice');
    await page.getByRole('link', { name: 'Calls' }).click();
    const rows = () =>
      page
        .locator('tr[data-call]')
        .evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-call')));
    expect(await rows()).toEqual(['call-alexa-missed', 'call-bruno-out', 'call-alexa-in']);
    await checkAndShoot(page, 'calls');

    await page.getByLabel('Direction').selectOption('outgoing');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.waitForLoadState();
    expect(await rows()).toEqual(['call-bruno-out']);

    await page.getByLabel('Direction').selectOption('');
    await page.getByLabel('Number').fill('021 552 20 00');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.waitForLoadState();
    expect(await rows()).toEqual(['call-alexa-missed', 'call-alexa-in']);

    await page.getByLabel('From (date)').fill('2026-11-27');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.waitForLoadState();
    expect(await rows()).toEqual(['call-alexa-missed']);
    expect(page.url()).toContain('from=2026-11-27');
  });

  it('retries a dead delivery from the call page', async () => {
    const page = await newPage();
    await signIn(page, 'alice');
    await page.goto(`${origin}${BASE}/calls/call-alexa-in`);
    const delivery = page.locator('tr[data-delivery="CallFlow:call-alexa-in:0"]');
    expect(await delivery.getAttribute('data-status')).toBe('dead');
    expect(await delivery.textContent()).toContain('HTTP 502 from the CRM');
    await checkAndShoot(page, 'call');
    await delivery.getByRole('button', { name: 'Retry now' }).click();
    await page.waitForLoadState();
    expect(await page.getByRole('status').textContent()).toBe('The delivery will be tried again at once.');
    expect(await delivery.getAttribute('data-status')).toBe('pending');
    const stored = await service.tenants[0]!.store.outbox.get('CallFlow:call-alexa-in:0');
    expect(stored).toMatchObject({ status: 'pending', attempts: 0 });
  });

  it('searches contacts by name, company or number, with their numbers as stored and as keys', async () => {
    const page = await newPage();
    await signIn(page, 'alice');
    await page.getByRole('link', { name: 'Contacts' }).click();
    const rows = () =>
      page
        .locator('tr[data-contact]')
        .evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-contact')));
    await page.getByLabel('Name, company or number').fill('keller');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForLoadState();
    expect(await rows()).toEqual(['contacts/2']);
    await page.getByLabel('Name, company or number').fill('+41 79 123 45 67');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForLoadState();
    expect(await rows()).toEqual(['contacts/1']);
    const numbers = await page.locator('tr[data-contact="contacts/1"] ul.numbers li').allTextContents();
    expect(numbers).toEqual([
      'phone: 021 552 20 00 key +41215522000',
      'mobile: 079 123 45 67 key +41791234567',
    ]);
    await checkAndShoot(page, 'contacts');
  });

  it('uploads contacts with a bad row: the report lists it, the rest is found and downloaded', async () => {
    const page = await newPage();
    await signIn(page, 'alice');
    await page.getByRole('link', { name: 'Contacts' }).click();
    await page.getByLabel('File (CSV or vCard)').setInputFiles({
      name: 'new-contacts.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from('id,name,company,phone\n20,Dora Frei,Frei GmbH,044 777 88 99\n21,Emil Bad,,\n'),
    });
    await checkAndShoot(page, 'contacts-upload');
    await page.getByRole('button', { name: 'Upload and import' }).click();
    await page.waitForURL((url) => url.pathname.startsWith(`${BASE}/contacts/imports/`));
    // The import's page follows its progress, then shows its report.
    await page.locator('table[data-skips]').waitFor({ timeout: 60_000 });
    expect(await page.getByRole('status').textContent()).toBe(
      'Imported 1 of 2 entries; 1 skipped; 0 removed.',
    );
    expect(await page.locator('tr[data-line="3"] td').nth(1).textContent()).toMatch(/number/i);
    await checkAndShoot(page, 'contacts-import');

    await page.getByRole('link', { name: 'Back to the contacts' }).click();
    await page.getByLabel('Name, company or number').fill('dora');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForLoadState();
    expect(
      await page.locator('tr[data-contact]').evaluateAll((rows) => rows.map((row) => row.dataset['contact'])),
    ).toEqual(['contacts/20']);

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Every contact as CSV' }).click(),
    ]);
    const csv = readFileSync((await download.path())!, 'utf8');
    expect(csv.split('\r\n')[0]).toBe(
      'source,id,name,company,contact_uri,phone,phone_2,phone_3,phone_4,phone_5,more_numbers',
    );
    expect(csv).toContain('contacts,20,Dora Frei,Frei GmbH,,044 777 88 99,,,,,\r\n');
    expect(csv).not.toContain('Emil Bad');
  });

  it('refuses a change whose form lost its token (403)', async () => {
    const page = await newPage();
    await signIn(page, 'alice');
    await page.getByRole('link', { name: 'CONNECTOR settings' }).click();
    await page
      .locator('form[action$="/connector/reveal"] input[name="_csrf"]')
      .evaluate((input) => input.remove());
    const [response] = await Promise.all([
      page.waitForResponse((answer) => answer.url().endsWith('/connector/reveal')),
      page.getByRole('button', { name: 'Show the value' }).click(),
    ]);
    expect(response.status()).toBe(403);
    expect(await page.getByRole('alert').textContent()).toContain('This form has expired');
    expect(await page.content()).not.toContain(ACME_TOKEN);
  });

  it('shows the CONNECTOR settings, the token only on request', async () => {
    const page = await newPage();
    await signIn(page, 'alice');
    await page.getByRole('link', { name: 'CONNECTOR settings' }).click();
    expect(await page.getByLabel('Root URL').inputValue()).toBe(`${origin}/acme`);
    expect(await page.getByLabel('Header name').inputValue()).toBe('X-Execution-Token');
    expect(await page.content()).not.toContain(ACME_TOKEN);
    await page.getByRole('button', { name: 'Show the value' }).click();
    await page.waitForLoadState();
    expect(await page.getByLabel('Header value').inputValue()).toBe(ACME_TOKEN);
    await checkAndShoot(page, 'connector');
    await page.getByRole('link', { name: 'Audit log' }).click();
    expect(await page.locator('tr[data-action="token-reveal"] td').nth(1).textContent()).toBe('alice');
    await checkAndShoot(page, 'audit');
  });

  it('rotates the CONNECTOR token: both accepted during the switch, then the new one only', async () => {
    const lookup = async (token: string) =>
      (
        await fetch(`${origin}/initech/Lookup`, {
          method: 'POST',
          headers: { 'x-execution-token': token, 'content-type': 'application/json' },
          body: JSON.stringify({ inputs: { phoneNumber: '41215522000' } }),
        })
      ).status;
    const old = service.tenants[2]!.generatedToken!.value;
    expect(await lookup(old)).toBe(200);

    // A read-only account sees the tokens, and may change nothing.
    const reader = await newPage();
    await signIn(reader, 'rita', PASSWORD, '/initech/admin');
    await reader.getByRole('link', { name: 'CONNECTOR settings' }).click();
    expect(await reader.locator('ul.tokens li').count()).toBe(1);
    expect(await reader.getByRole('button', { name: 'Add a new token' }).count()).toBe(0);
    expect(await postByHand(reader, '/initech/admin/connector/tokens/add', {})).toBe(403);

    const page = await newPage();
    await signIn(page, 'ivan', PASSWORD, '/initech/admin');
    await page.getByRole('link', { name: 'CONNECTOR settings' }).click();
    await page.getByRole('button', { name: 'Add a new token' }).click();
    await page.waitForLoadState();
    const fresh = await page.getByRole('textbox', { name: 'New token' }).inputValue();
    expect(fresh).toMatch(/^[\w-]{32}$/);
    expect(fresh).not.toBe(old);
    expect(await page.locator('ul.tokens li').count()).toBe(2);
    await checkAndShoot(page, 'connector-rotation');
    expect(await lookup(old)).toBe(200);
    expect(await lookup(fresh)).toBe(200);

    const [first] = await page
      .locator('ul.tokens li')
      .evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-token')));
    await page.getByRole('button', { name: `Retire token ${first}` }).click();
    await page.waitForLoadState();
    expect(await page.getByRole('status').textContent()).toBe(`Token ${first} is no longer accepted.`);
    expect(await page.locator('ul.tokens li').count()).toBe(1);
    expect(await page.content()).not.toContain(fresh);
    expect(await lookup(old)).toBe(401);
    expect(await lookup(fresh)).toBe(200);
    await page.getByRole('link', { name: 'Audit log' }).click();
    expect(
      await page.locator('tr[data-action]').evaluateAll((rows) => rows.map((row) => row.dataset['action'])),
    ).toEqual(expect.arrayContaining(['token-added', 'token-retired']));
  });

  it('keeps a tenant admin out of another tenant', async () => {
    const page = await newPage();
    await signIn(page, 'alice');
    await page.goto(`${origin}/globex/admin`);
    expect(new URL(page.url()).pathname).toBe('/globex/admin/sign-in');
    await signIn(page, 'alice', PASSWORD, '/globex/admin');
    expect(await page.getByRole('alert').textContent()).toBe('Wrong name or password.');
    const calls = await page.goto(`${origin}/globex/admin/calls`);
    expect(new URL(calls!.url()).pathname).toBe('/globex/admin/sign-in');
  });

  it('lets a read-only account change nothing, and masks numbers for it', async () => {
    const page = await newPage();
    await signIn(page, 'robin');
    await page.getByRole('link', { name: 'Calls' }).click();
    const content = await page.content();
    expect(content).not.toContain('41215522000');
    expect(content).toContain('+41 21 *** ** 00');
    await page.goto(`${origin}${BASE}/calls/call-alexa-in`);
    expect(await page.getByRole('button', { name: 'Retry now' }).count()).toBe(0);
    await page.getByRole('link', { name: 'CONNECTOR settings' }).click();
    expect(await page.getByRole('button', { name: 'Show the value' }).count()).toBe(0);
    // Posts made by hand, with a good token of the session (the sign-out form's), are refused.
    expect(await postByHand(page, `${BASE}/connector/reveal`, {})).toBe(403);
    expect(await page.content()).not.toContain(ACME_TOKEN);
    expect(
      await postByHand(page, `${BASE}/calls/call-alexa-in/drop`, { delivery: 'CallFlow:call-alexa-in:0' }),
    ).toBe(403);
    expect(await service.tenants[0]!.store.outbox.get('CallFlow:call-alexa-in:0')).toBeDefined();
  });

  it('speaks the browser’s language: German and French', async () => {
    const german = await newPage('de-CH');
    await german.goto(`${origin}${BASE}/sign-in`);
    expect(await german.getByRole('heading', { level: 1 }).textContent()).toBe('Anmelden');
    const french = await newPage('fr-CH');
    await french.goto(`${origin}${BASE}/sign-in`);
    expect(await french.getByRole('heading', { level: 1 }).textContent()).toBe('Connexion');
    await french.getByRole('link', { name: 'Deutsch' }).click();
    expect(await french.getByRole('heading', { level: 1 }).textContent()).toBe('Anmelden');
  });

  it('fits a phone: no page is wider than the screen', async () => {
    const page = await newPage('en-GB', { width: 390, height: 844 });
    await signIn(page, 'alice');
    for (const path of [
      '',
      '/test?number=021+552+20+00',
      '/calls',
      '/calls/call-alexa-in',
      '/contacts?q=a',
      '/connector',
      '/audit',
    ]) {
      await page.goto(`${origin}${BASE}${path}`);
      const [content, screen] = await page.evaluate(() => [
        document.documentElement.scrollWidth,
        window.innerWidth,
      ]);
      expect(content, path || '/').toBeLessThanOrEqual(screen!);
    }
    await page.goto(`${origin}${BASE}/test?number=021+552+20+00`);
    await checkAndShoot(page, 'phone-test-a-number');
  });

  it('signs out: the session is over on the server', async () => {
    const page = await newPage();
    await signIn(page, 'alice');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForLoadState();
    expect(await page.getByRole('status').textContent()).toBe('You are signed out.');
    await page.goto(`${origin}${BASE}/calls`);
    expect(new URL(page.url()).pathname).toBe(`${BASE}/sign-in`);
  });
});
