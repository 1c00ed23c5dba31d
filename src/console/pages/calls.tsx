import { Readable } from 'node:stream';
import type { FastifyPluginAsync } from 'fastify';
import { parseIsoTime } from '../../connector/wire.js';
import { incomingKey, maskNumber } from '../../phone/index.js';
import { CSV_HEADER, csvLine, csvRow } from '../../store/call-csv.js';
import type { CallQuery, CallRecord } from '../../store/types.js';
import type { ConsoleKit, ConsoleUser } from '../kit.js';
import type { MessageKey } from '../messages/en.js';
import { type CallFilters, CallPage, type CallRow, CallsPage } from '../views/calls.js';

/** Calls on one page. */
export const CALLS_PER_PAGE = 50;
const DAY_MS = 86_400_000;
/** Calls read at a time for an export: a page's worth, each an indexed read past the cursor. */
const EXPORT_PAGE = CALLS_PER_PAGE;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

type Query = CallFilters & { readonly after?: string };

/** Who may see numbers in full: admins; read-only accounts see them masked. */
const seesNumbers = (user: ConsoleUser | undefined) => user !== undefined && user.role !== 'read-only';

/** Midnight of a `YYYY-MM-DD` date in the server's zone, or undefined when it is no date. */
function dayStart(text: string): number | undefined {
  if (!DATE.test(text)) return undefined;
  const ms = new Date(`${text}T00:00:00`).getTime();
  return Number.isNaN(ms) ? undefined : ms;
}

const text = (value: unknown, max = 100) => (typeof value === 'string' ? value.trim().slice(0, max) : '');

export const callRoutes: FastifyPluginAsync<{ kit: ConsoleKit }> = async (app, { kit }) => {
  const { options } = kit;
  const { region } = options.tenant;

  const rowOf = (call: CallRecord, show: boolean): CallRow => {
    const number = (raw: string | undefined) =>
      raw === undefined ? '-' : show ? raw : maskNumber(incomingKey(raw, region) ?? raw);
    return {
      call,
      time: (call.startedTime ? parseIsoTime(call.startedTime) : undefined) ?? Date.parse(call.createdAt),
      from: number(call.originatorNumber),
      to: number(call.destinationNumber),
    };
  };

  /** The filters as typed, and the journal's query for them, or what is wrong with them. */
  const readFilters = (
    raw: Query,
  ): { filters: CallFilters } & ({ query: CallQuery } | { error: MessageKey }) => {
    const filters: CallFilters = {
      from: text(raw.from, 10),
      to: text(raw.to, 10),
      direction: raw.direction === 'incoming' || raw.direction === 'outgoing' ? raw.direction : '',
      status: raw.status === 'answered' || raw.status === 'missed' ? raw.status : '',
      number: text(raw.number),
      contact: text(raw.contact, 200),
    };
    const from = filters.from ? dayStart(filters.from) : undefined;
    const to = filters.to ? dayStart(filters.to) : undefined;
    const key = filters.number ? incomingKey(filters.number, region) : undefined;
    if ((filters.from && from === undefined) || (filters.to && to === undefined)) {
      return { filters, error: 'calls.badDate' };
    }
    if (filters.number && key === undefined) return { filters, error: 'calls.badNumber' };
    const query: CallQuery = {
      limit: CALLS_PER_PAGE,
      ...(from !== undefined && { from: new Date(from) }),
      // The "to" date is included: calls before the next day's start.
      ...(to !== undefined && { to: new Date(to + DAY_MS) }),
      ...(filters.direction && { direction: filters.direction as 'incoming' | 'outgoing' }),
      ...(filters.status && { status: filters.status as 'answered' | 'missed' }),
      ...(filters.contact && { contactCrmId: filters.contact }),
      ...(key !== undefined && { number: { key, region } }),
    };
    return { filters, query };
  };

  app.get<{ Querystring: Query }>('/calls', async (request, reply) => {
    const ctx = kit.context(request, reply);
    const read = readFilters(request.query);
    const { filters } = read;
    const after = text(request.query.after, 200);
    const show = seesNumbers(request.consoleUser);
    if ('error' in read) {
      return kit.send(
        reply,
        <CallsPage
          ctx={ctx}
          filters={filters}
          rows={[]}
          paged={false}
          masked={!show}
          error={ctx.t(read.error)}
        />,
        400,
      );
    }
    const query: CallQuery = { ...read.query, ...(after && { after }) };
    let page: Awaited<ReturnType<typeof options.journal.list>>;
    try {
      page = await options.journal.list(query);
    } catch {
      // A cursor that was not one of ours: start from the newest.
      return reply.redirect(`${kit.base}/calls`, 303);
    }
    return kit.send(
      reply,
      <CallsPage
        ctx={ctx}
        filters={filters}
        rows={page.calls.map((call) => rowOf(call, show))}
        {...(page.next !== undefined && { next: page.next })}
        paged={after !== ''}
        masked={!show}
      />,
    );
  });

  // Every call the filters match, as CSV, read page by page along the journal's cursor.
  app.get<{ Querystring: Query }>('/calls.csv', async (request, reply) => {
    const read = readFilters(request.query);
    if ('error' in read) {
      const ctx = kit.context(request, reply);
      return kit.send(
        reply,
        <CallsPage
          ctx={ctx}
          filters={read.filters}
          rows={[]}
          paged={false}
          masked={false}
          error={ctx.t(read.error)}
        />,
        400,
      );
    }
    const show = seesNumbers(request.consoleUser);
    const display = (raw: string | undefined) =>
      raw === undefined ? '' : show ? raw : maskNumber(incomingKey(raw, region) ?? raw);
    await kit.audit(request, 'calls-export', show ? 'numbers in full' : 'numbers masked');
    const { journal } = options;
    const { query } = read;
    async function* lines() {
      yield csvLine(CSV_HEADER);
      let after: string | undefined;
      do {
        const page = await journal.list({ ...query, limit: EXPORT_PAGE, ...(after && { after }) });
        if (page.calls.length > 0)
          yield page.calls.map((call) => csvLine(csvRow(call, { display }))).join('');
        after = page.next;
      } while (after !== undefined);
    }
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', 'attachment; filename="calls.csv"')
      .send(Readable.from(lines()));
  });

  const NOTICES = {
    retried: ['news', 'call.retried'],
    dropped: ['news', 'call.dropped'],
    'not-retried': ['error', 'call.notRetried'],
    'not-dropped': ['error', 'call.notDropped'],
  } as const;

  app.get<{ Params: { id: string }; Querystring: { notice?: string } }>(
    '/calls/:id',
    async (request, reply) => {
      const call = await options.journal.get(request.params.id);
      const ctx = kit.context(request, reply);
      if (!call) {
        return kit.send(
          reply,
          <CallsPage
            ctx={ctx}
            filters={{}}
            rows={[]}
            paged={false}
            masked={false}
            error={ctx.t('error.notFound')}
          />,
          404,
        );
      }
      const deliveries = (await options.outbox.forCall(call.workflow, call.id)).map((delivery) =>
        delivery.lastError === undefined
          ? delivery
          : { ...delivery, lastError: options.redact(delivery.lastError) },
      );
      const notice = Object.hasOwn(NOTICES, request.query.notice ?? '')
        ? NOTICES[request.query.notice as keyof typeof NOTICES]
        : undefined;
      return kit.send(
        reply,
        <CallPage
          ctx={ctx}
          row={rowOf(call, seesNumbers(request.consoleUser))}
          deliveries={deliveries}
          canChange={request.consoleUser?.role !== 'read-only'}
          {...(notice && { [notice[0]]: ctx.t(notice[1]) })}
        />,
      );
    },
  );

  // Retry or drop one of the call's deliveries; the delivery must be the call's.
  for (const verb of ['retry', 'drop'] as const) {
    app.post<{ Params: { id: string }; Body: Record<string, string> }>(
      `/calls/:id/${verb}`,
      { config: { change: true } },
      async (request, reply) => {
        const id = String(request.body?.['delivery'] ?? '');
        const delivery = id ? await options.outbox.get(id) : undefined;
        const call = await options.journal.get(request.params.id);
        if (!delivery || !call || delivery.callId !== call.id || delivery.workflow !== call.workflow) {
          const ctx = kit.context(request, reply);
          return kit.send(
            reply,
            <CallsPage
              ctx={ctx}
              filters={{}}
              rows={[]}
              paged={false}
              masked={false}
              error={ctx.t('error.notFound')}
            />,
            404,
          );
        }
        const done =
          verb === 'retry' ? await options.outbox.retry(id, kit.now()) : await options.outbox.drop(id);
        if (done) await kit.audit(request, verb === 'retry' ? 'delivery-retry' : 'delivery-drop', id);
        const notice = done
          ? verb === 'retry'
            ? 'retried'
            : 'dropped'
          : `not-${verb === 'retry' ? 'retried' : 'dropped'}`;
        return reply.redirect(`${kit.base}/calls/${encodeURIComponent(call.id)}?notice=${notice}`, 303);
      },
    );
  }
};
