import type { FoundContact } from '../../store/types.js';
import { Layout, Notice, type PageContext } from './layout.js';

/** A contact as listed: its numbers already masked or not, by the viewer's role. */
export interface ContactRow {
  readonly contact: FoundContact;
  readonly numbers: readonly { readonly raw: string; readonly key: string; readonly label?: string }[];
}

export function ContactsPage(props: {
  ctx: PageContext;
  query: string;
  rows?: readonly ContactRow[];
  next?: string;
  paged: boolean;
  masked: boolean;
  error?: string;
}) {
  const { ctx, rows } = props;
  const { t } = ctx;
  const more = (after: string) =>
    `${ctx.base}/contacts?${new URLSearchParams({ q: props.query, after }).toString()}`;
  return (
    <Layout ctx={ctx} title={t('contacts.title')} page="contacts">
      <form class="inline" method="get" action={`${ctx.base}/contacts`}>
        <label for="q">{t('contacts.query')}</label>
        <input id="q" name="q" autocomplete="off" required value={props.query} />
        <button type="submit">{t('contacts.submit')}</button>
      </form>
      <p class="quiet">{t('contacts.hint')}</p>
      {props.error && <Notice kind="alert">{props.error}</Notice>}
      {props.masked && rows && <p class="quiet">{t('calls.masked')}</p>}
      {rows && rows.length === 0 && <p data-contacts="none">{t('contacts.none')}</p>}
      {rows && rows.length > 0 && (
        <div class="scroll" tabindex={0}>
          <table>
            <thead>
              <tr>
                <th scope="col">{t('contacts.name')}</th>
                <th scope="col">{t('contacts.company')}</th>
                <th scope="col">{t('overview.source')}</th>
                <th scope="col">{t('contacts.numbers')}</th>
              </tr>
            </thead>
            <tbody>
              {rows.map(({ contact, numbers }) => (
                <tr data-contact={`${contact.source}/${contact.id}`}>
                  <th scope="row">{contact.name ?? '-'}</th>
                  <td>{contact.company ?? ''}</td>
                  <td>{contact.source}</td>
                  <td>
                    <ul class="numbers">
                      {numbers.map((number) => (
                        <li>
                          {number.label && <span class="quiet">{number.label}: </span>}
                          {number.raw} <span class="detail">{t('contacts.key', { key: number.key })}</span>
                        </li>
                      ))}
                    </ul>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <nav class="pages" aria-label={t('contacts.title')}>
        {props.paged && (
          <a href={`${ctx.base}/contacts?${new URLSearchParams({ q: props.query }).toString()}`}>
            {t('contacts.first')}
          </a>
        )}
        {props.next && (
          <a rel="next" href={more(props.next)}>
            {t('contacts.next')}
          </a>
        )}
      </nav>
    </Layout>
  );
}
