import type { WireContact } from '../../connector/wire.js';
import type { SourceOutcome } from '../../lookup/lookup.js';
import { Layout, type PageContext } from './layout.js';

/** What reading and looking up the number gave, step by step. */
export interface NumberTest {
  readonly input: string;
  /** Digits as cleaned (a leading "+" when written internationally). */
  readonly cleaned?: string;
  readonly extension?: string;
  readonly region: string;
  readonly key?: string;
  readonly outcomes: readonly SourceOutcome[];
  /** The cards, exactly as the CONNECTOR gets them. */
  readonly cards: readonly WireContact[];
}

export function TestNumberPage(props: { ctx: PageContext; test?: NumberTest }) {
  const { ctx, test } = props;
  const { t, lang } = ctx;
  const ms = new Intl.NumberFormat(lang, { style: 'unit', unit: 'millisecond', maximumFractionDigits: 1 });
  return (
    <Layout ctx={ctx} title={t('test.title')} page="test">
      <p>{t('test.intro')}</p>
      <form class="inline" method="get" action={`${ctx.base}/test`}>
        <label for="number">{t('test.number')}</label>
        <input
          id="number"
          name="number"
          inputmode="tel"
          autocomplete="off"
          required
          value={test?.input ?? ''}
        />
        <button type="submit">{t('test.submit')}</button>
      </form>
      {test && (
        <>
          <section aria-labelledby="steps">
            <h2 id="steps">{t('test.steps')}</h2>
            <dl class="steps">
              <dt>{t('test.typed')}</dt>
              <dd data-step="typed">{test.input}</dd>
              <dt>{t('test.cleaned')}</dt>
              <dd data-step="cleaned">{test.cleaned ?? '-'}</dd>
              {test.extension !== undefined && (
                <>
                  <dt>{t('test.extension')}</dt>
                  <dd data-step="extension">{test.extension}</dd>
                </>
              )}
              <dt>{t('test.region')}</dt>
              <dd data-step="region">{test.region}</dd>
              <dt>{t('test.key')}</dt>
              <dd data-step="key">{test.key ?? t('test.noNumber')}</dd>
            </dl>
          </section>
          {test.key !== undefined && (
            <section aria-labelledby="answers">
              <h2 id="answers">{t('test.sources')}</h2>
              <div class="scroll" tabindex={0}>
                <table>
                  <thead>
                    <tr>
                      <th scope="col">{t('overview.source')}</th>
                      <th scope="col">{t('overview.mode')}</th>
                      <th scope="col">{t('test.status')}</th>
                      <th scope="col">{t('test.found')}</th>
                      <th scope="col">{t('test.latency')}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {test.outcomes.map((outcome) => (
                      <tr data-source={outcome.source}>
                        <th scope="row">{outcome.source}</th>
                        <td>{t(`mode.${outcome.mode}`)}</td>
                        <td class={outcome.status === 'ok' ? 'ok' : 'bad'}>
                          {t(`status.${outcome.status}`)}
                          {outcome.cached && ` (${t('test.cached')})`}
                          {outcome.error && <span class="detail">{outcome.error}</span>}
                        </td>
                        <td>{outcome.found}</td>
                        <td>{ms.format(outcome.ms)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </section>
          )}
          <section aria-labelledby="cards">
            <h2 id="cards">{t('test.cards')}</h2>
            {test.cards.length === 0 ? (
              <p data-cards="none">{t('test.noCards')}</p>
            ) : (
              <ol class="cards">
                {test.cards.map((card) => (
                  <li>
                    <Card card={card} />
                  </li>
                ))}
              </ol>
            )}
          </section>
        </>
      )}
    </Layout>
  );
}

/** One contact card, laid out as the CONNECTOR's pop-up shows it: logo, name, company, actions. */
function Card(props: { card: WireContact }) {
  const { card } = props;
  return (
    <article class="card" data-card={card.id}>
      <header>
        {card.crmLogo && (
          <img src={card.crmLogo} alt={card.crmName} title={card.crmName} width={32} height={32} />
        )}
        <div>
          <p class="card-name">
            {card.contactUri ? <a href={card.contactUri}>{card.name ?? card.id}</a> : (card.name ?? card.id)}
          </p>
          {card.company && (
            <p class="card-company">
              {card.companyUri ? <a href={card.companyUri}>{card.company}</a> : card.company}
            </p>
          )}
        </div>
      </header>
      {card.customData && (
        <dl class="card-data">
          {Object.entries(card.customData).map(([name, value]) => (
            <>
              <dt>{name}</dt>
              <dd>{String(value)}</dd>
            </>
          ))}
        </dl>
      )}
      {card.crmActions && card.crmActions.length > 0 && (
        <ul class="card-actions">
          {card.crmActions.map((action) => (
            <li>
              <span class="action">{action}</span>
            </li>
          ))}
        </ul>
      )}
    </article>
  );
}
