import type { FastifyPluginAsync } from 'fastify';
import { incomingKey, maskNumber } from '../../phone/index.js';
import type { ContactSearchPage } from '../../store/types.js';
import type { ConsoleKit } from '../kit.js';
import { type ContactRow, ContactsPage } from '../views/contacts.js';

/** Contacts on one page. */
export const CONTACTS_PER_PAGE = 50;
/** What reads as a number rather than a name: digits with the signs numbers are written with. */
const NUMBER_LIKE = /^[\d\s+()./-]*\d[\d\s+()./-]*$/;

export const contactRoutes: FastifyPluginAsync<{ kit: ConsoleKit }> = async (app, { kit }) => {
  const { options } = kit;
  const { region } = options.tenant;

  app.get<{ Querystring: { q?: string; after?: string } }>('/contacts', async (request, reply) => {
    const ctx = kit.context(request, reply);
    const query = typeof request.query.q === 'string' ? request.query.q.trim().slice(0, 100) : '';
    const after = typeof request.query.after === 'string' ? request.query.after.slice(0, 400) : '';
    const masked = request.consoleUser?.role === 'read-only';
    if (query === '')
      return kit.send(reply, <ContactsPage ctx={ctx} query="" paged={false} masked={masked} />);
    // A number is looked up by its key, as a lookup would; anything else by the start of a name or company.
    const key = NUMBER_LIKE.test(query) ? incomingKey(query, region) : undefined;
    let page: ContactSearchPage;
    try {
      page = await options.contacts.search(
        key !== undefined
          ? { key, limit: CONTACTS_PER_PAGE }
          : { text: query, limit: CONTACTS_PER_PAGE, ...(after && { after }) },
      );
    } catch {
      // A cursor that was not one of ours: start from the first page.
      return reply.redirect(`${kit.base}/contacts?${new URLSearchParams({ q: query }).toString()}`, 303);
    }
    const rows: ContactRow[] = page.contacts.map((contact) => ({
      contact,
      numbers: contact.phones.map((phone) => ({
        raw: masked ? maskNumber(phone.key) : phone.raw,
        key: masked ? maskNumber(phone.key) : phone.key,
        ...(phone.label !== undefined && { label: phone.label }),
      })),
    }));
    return kit.send(
      reply,
      <ContactsPage
        ctx={ctx}
        query={query}
        rows={rows}
        {...(page.next !== undefined && { next: page.next })}
        paged={after !== ''}
        masked={masked}
      />,
    );
  });
};
