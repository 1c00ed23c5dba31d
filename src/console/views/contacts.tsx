import type { FoundContact } from '../../store/types.js';
import type { ImportJob } from '../imports.js';
import { Csrf, Layout, Notice, type PageContext } from './layout.js';

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
  /** The sources the viewer may upload contacts into; none: no upload form. */
  importSources?: readonly string[];
}) {
  const { ctx, rows } = props;
  const sources = props.importSources ?? [];
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
      <h2>{t('contacts.download')}</h2>
      <p>
        <a href={`${ctx.base}/contacts.csv`} download="contacts.csv">
          {t('contacts.downloadCsv')}
        </a>
      </p>
      {sources.length > 0 && (
        <section aria-labelledby="upload">
          <h2 id="upload">{t('contacts.upload')}</h2>
          <p>{t('contacts.uploadHint')}</p>
          <form
            class="narrow"
            method="post"
            action={`${ctx.base}/contacts/upload`}
            data-upload
            data-failed={t('contacts.uploadFailed')}
          >
            <Csrf ctx={ctx} />
            <label for="upload-file">{t('contacts.file')}</label>
            <input
              id="upload-file"
              name="file"
              type="file"
              accept=".csv,.txt,.vcf,.vcard,text/csv,text/vcard"
              required
            />
            <label for="upload-source">{t('contacts.into')}</label>
            <select id="upload-source" name="source">
              {sources.map((source) => (
                <option value={source}>{source}</option>
              ))}
            </select>
            <span class="check">
              <input id="upload-replace" name="replace" type="checkbox" value="1" />
              <label for="upload-replace">{t('contacts.replace')}</label>
            </span>
            <label for="upload-progress">{t('contacts.uploading')}</label>
            <progress id="upload-progress" max={1} value={0} />
            <p class="quiet" data-upload-status role="status" />
            <button type="submit">{t('contacts.uploadSubmit')}</button>
            <noscript>
              <p>{t('contacts.needsScript')}</p>
            </noscript>
          </form>
        </section>
      )}
    </Layout>
  );
}

/** An import as its page shows it: its progress while it runs, then its report. */
export interface ImportView extends Omit<ImportJob, 'skips'> {
  readonly skips: readonly { line: number; reason: string }[];
  readonly progress: number;
}

export function ImportPage(props: { ctx: PageContext; job?: ImportView; redact?: (text: string) => string }) {
  const { ctx, job } = props;
  const { t } = ctx;
  if (!job) {
    return (
      <Layout ctx={ctx} title={t('contacts.import')} page="contacts">
        <Notice kind="alert">{t('contacts.noImport')}</Notice>
      </Layout>
    );
  }
  const percent = Math.round(job.progress * 100);
  return (
    <Layout ctx={ctx} title={t('contacts.import')} page="contacts">
      <p>{t('contacts.importOf', { file: job.fileName, source: job.source })}</p>
      {job.status === 'running' && (
        <>
          <label for="import-progress">{t('contacts.importing')}</label>
          <progress
            id="import-progress"
            max={100}
            value={percent}
            data-poll={`${ctx.base}/contacts/imports/${encodeURIComponent(job.id)}/progress`}
          >
            {percent}%
          </progress>
          <p data-import-read role="status">
            {t('contacts.readSoFar', { read: job.read, skipped: job.skipped })}
          </p>
          <p>
            <a href={`${ctx.base}/contacts/imports/${encodeURIComponent(job.id)}`}>{t('contacts.refresh')}</a>
          </p>
        </>
      )}
      {job.status === 'failed' && (
        <Notice kind="alert">
          {t('contacts.importFailed', {
            error: props.redact ? props.redact(job.error ?? '') : (job.error ?? ''),
          })}
        </Notice>
      )}
      {job.status === 'done' && job.summary && (
        <Notice kind="status">
          {t('contacts.imported', {
            imported: job.summary.imported,
            read: job.summary.read,
            skipped: job.summary.skipped,
            removed: job.summary.removed,
          })}
        </Notice>
      )}
      {job.status !== 'running' && job.skipped > 0 && (
        <>
          <h2>{t('contacts.skipped', { count: job.skipped })}</h2>
          <div class="scroll" tabindex={0}>
            <table data-skips>
              <thead>
                <tr>
                  <th scope="col">{t('contacts.line')}</th>
                  <th scope="col">{t('contacts.reason')}</th>
                </tr>
              </thead>
              <tbody>
                {job.skips.map((skip) => (
                  <tr data-line={skip.line}>
                    <td>{skip.line}</td>
                    <td>{skip.reason}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {job.skipped > job.skips.length && (
            <p class="quiet">{t('contacts.moreSkipped', { count: job.skipped - job.skips.length })}</p>
          )}
        </>
      )}
      <p>
        <a href={`${ctx.base}/contacts`}>{t('contacts.back')}</a>
      </p>
    </Layout>
  );
}
