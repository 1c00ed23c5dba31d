import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH, build, type TestService } from '../support/helper.js';

const CALL = {
  contactCrmId: 'c1',
  userCrmId: 'u7',
  originatorNumber: '41215522000',
  originatorName: 'Alexa Holiday',
  destinationNumber: '41445556677',
  destinationName: 'Reception',
  direction: 'incoming',
  startedTime: '2026-11-26T10:00:00Z',
  answeredTime: '2026-11-26T10:00:07Z',
  endedTime: '2026-11-26T10:03:07Z',
  declinedTime: '',
};

describe('POST /CallFlow', () => {
  let service: TestService;
  const send = (inputs: unknown, url = '/CallFlow') =>
    service.app.inject({ method: 'POST', url, headers: AUTH, payload: { inputs } as object });

  beforeAll(async () => {
    service = await build();
  });
  afterAll(() => service.close());

  it('records the call and answers {id, url}; the url opens a readable page', async () => {
    const response = await send({ ...CALL, queueName: 'Support', futureField: { nested: 1 } });
    expect(response.statusCode).toBe(200);
    const { id, url } = response.json();
    expect(id).toMatch(/^[\w-]{22}$/);
    expect(url).toBe(`http://localhost:80/calls/${id}`);
    const record = await service.store.calls.get(id);
    expect(record).toMatchObject({
      id,
      workflow: 'CallFlow',
      direction: 'incoming',
      status: 'answered',
      durationSeconds: 180,
      contactCrmId: 'c1',
      userCrmId: 'u7',
      originatorNumber: '41215522000',
      destinationName: 'Reception',
      startedTime: '2026-11-26T10:00:00Z',
      receivedCount: 1,
    });
    expect(record?.inputs).toMatchObject({
      queueName: 'Support',
      futureField: { nested: 1 },
      declinedTime: '',
    });

    const page = await service.app.inject({ method: 'GET', url: new URL(url).pathname });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.body).toContain('Incoming call');
    expect(page.body).toContain('Alexa Holiday');
    expect(page.body).toContain('Support');
    expect(page.headers['cache-control']).toBe('no-store');
  });

  it('gives the same id and one record when the same call is sent again, also concurrently', async () => {
    const call = { ...CALL, startedTime: '2026-11-26T11:00:00Z', answeredTime: '', endedTime: '' };
    const answers = await Promise.all([send(call), send(call), send(call)]);
    const ids = new Set(answers.map((a) => a.json().id));
    expect(ids.size).toBe(1);
    const [id] = [...ids] as [string];
    // A later delivery of the same call with its end time completes the record.
    const later = await send({
      ...call,
      originatorNumber: '+41 21 552 20 00',
      answeredTime: '2026-11-26T11:00:05Z',
      endedTime: '2026-11-26T11:01:05Z',
    });
    expect(later.json().id).toBe(id);
    const record = await service.store.calls.get(id);
    expect(record).toMatchObject({ receivedCount: 4, status: 'answered', durationSeconds: 60 });
  });

  it('gives different ids to different calls', async () => {
    const a = (await send({ ...CALL, startedTime: '2026-11-26T12:00:00Z' })).json().id;
    const b = (await send({ ...CALL, startedTime: '2026-11-26T12:05:00Z' })).json().id;
    const c = (await send({ ...CALL, startedTime: '2026-11-26T12:00:00Z', direction: 'outgoing' })).json().id;
    expect(new Set([a, b, c]).size).toBe(3);
  });

  it('records a call without answer time as missed, and one without a contact', async () => {
    const response = await send({
      direction: 'incoming',
      originatorNumber: '41791112233',
      startedTime: '2026-11-26T13:00:00+01:00',
      declinedTime: '2026-11-26T13:00:20+01:00',
      contactCrmId: '',
    });
    expect(response.statusCode).toBe(200);
    const record = await service.store.calls.get(response.json().id);
    expect(record?.status).toBe('missed');
    expect(record?.contactCrmId).toBeUndefined();
    expect(record?.durationSeconds).toBeUndefined();
  });

  it('reads inputs case-insensitively', async () => {
    const response = await service.app.inject({
      method: 'POST',
      url: '/callflow',
      headers: AUTH,
      payload: { Inputs: { Direction: 'Outgoing', StartedTime: '2026-11-26 14:00:00' } },
    });
    expect(response.statusCode).toBe(200);
    const record = await service.store.calls.get(response.json().id);
    expect(record).toMatchObject({ direction: 'outgoing', startedTime: '2026-11-26 14:00:00' });
  });

  it.each([
    [{ direction: 'sideways' }, 'inputs.direction'],
    [{ startedTime: 'yesterday' }, 'inputs.startedTime'],
    [{ answeredTime: '2026-13-45T10:00:00Z' }, 'inputs.answeredTime'],
    [{ endedTime: 12 }, 'inputs.endedTime'],
    [{ originatorNumber: ['a'] }, 'inputs.originatorNumber'],
  ])('rejects %j with 400 naming the field', async (inputs, field) => {
    const response = await send({ ...inputs, userCrmId: 'reject-me' });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe('INVALID_INPUT');
    expect(response.json().error.message).toContain(field);
  });

  it('400 without inputs', async () => {
    const response = await service.app.inject({
      method: 'POST',
      url: '/CallFlow',
      headers: AUTH,
      payload: {},
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe('MISSING_INPUTS');
  });

  it('404 with a JSON error for an unknown workflow', async () => {
    const response = await send(CALL, '/CreateTicket');
    expect(response.statusCode).toBe(404);
    expect(response.json().error.code).toBe('UNKNOWN_WORKFLOW');
  });

  it('404 for a call page that does not exist', async () => {
    const missing = await service.app.inject({ method: 'GET', url: '/calls/AAAAAAAAAAAAAAAAAAAAAA' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('NOT_FOUND');
    const malformed = await service.app.inject({ method: 'GET', url: '/calls/..%2f..%2fetc' });
    expect(malformed.statusCode).toBe(404);
  });

  it('escapes what the call brings into the page', async () => {
    const response = await send({ ...CALL, originatorName: '<script>alert(1)</script>', startedTime: '' });
    const page = await service.app.inject({ method: 'GET', url: new URL(response.json().url).pathname });
    expect(page.body).not.toContain('<script>alert');
    expect(page.body).toContain('&#60;script&#62;');
  });
});
