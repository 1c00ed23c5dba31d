import { send } from '../http.js';
import { checkPoint } from './context.js';
import { fail, limited, lookupRequest, ms, noAnswer, warn } from './findings.js';

/** The service: does it answer the CONNECTOR's lookup with the given headers, and over HTTPS. */

const TOKEN_ADVICE =
  'Check the header name and value given with --header: they must be what the CUSTOMER-PORTAL sends.';

/** Gives `answering` unless the service does not answer at all, `accepted` if it takes the headers too. */
export const reachable = checkPoint({
  id: 'service.reachable',
  title: 'Service answers with the given headers',
  needs: [],
  uses: ['number'],
  gives: ['answering', 'accepted'],
  async run({ settings, facts }) {
    const { target } = settings;
    const answer = await send(target, lookupRequest(facts.number ?? settings.missNumber));
    const headerNames = Object.keys(target.headers);
    const down = (why: string) => ({ missing: { answering: why, accepted: why }, passed: '' });
    if (answer.status === undefined) {
      return {
        ...down('the service did not answer'),
        findings: [noAnswer(answer, `POST ${target.root}/Lookup`)],
      };
    }
    if (answer.status >= 300 && answer.status < 400) {
      return {
        ...down('the service redirects'),
        findings: [
          fail(
            `POST /Lookup redirects (${answer.status}${answer.location ? ` to ${answer.location}` : ''})`,
            'Enter the final address as the root URL: a redirected POST may become a GET or lose its body, and the token would first travel to the old address.',
          ),
        ],
      };
    }
    if (answer.status === 429) {
      return {
        ...down('the service limits requests (429)'),
        findings: [limited(answer, 'POST /Lookup', 'fail')],
      };
    }
    if (answer.status === 401 || answer.status === 403) {
      return {
        facts: { answering: true },
        missing: { accepted: `the service refused the given headers (${answer.status})` },
        passed: '',
        findings: [
          fail(
            `POST /Lookup answered ${answer.status} with ${headerNames.length > 0 ? `the given headers (${headerNames.join(', ')})` : 'no headers'}`,
            headerNames.length > 0
              ? TOKEN_ADVICE
              : "Pass the token as the CONNECTOR does: --header 'X-Execution-Token: ...' (or --header-env).",
          ),
        ],
      };
    }
    return {
      facts: { answering: true, accepted: true },
      findings: [],
      passed: `POST /Lookup answered ${answer.status} in ${ms(answer.ms)}`,
    };
  },
});

export const https = checkPoint({
  id: 'service.https',
  title: 'Reached over HTTPS',
  needs: [],
  run({ settings }) {
    const url = new URL(settings.target.root);
    if (url.protocol === 'https:') return { findings: [], passed: 'https' };
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (host === 'localhost' || host === '::1' || /^127\./.test(host)) {
      return {
        findings: [],
        passed: 'plain HTTP on this machine (fine for a test; the CONNECTOR needs HTTPS)',
      };
    }
    return {
      findings: [
        warn(
          'plain HTTP',
          "The CONNECTOR sends the token and the caller's number with every request: serve the root URL over HTTPS (e.g. behind a reverse proxy).",
        ),
      ],
      passed: '',
    };
  },
});

export const SERVICE_POINTS = [reachable, https] as const;
