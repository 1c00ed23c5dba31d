import { excerpt, send } from '../http.js';
import { type Finding, workflowFindings } from '../shape.js';
import { checkPoint } from './context.js';
import { badBodies, fail, limited, ms, noAnswer, testCall, warn, workflowPath } from './findings.js';

/**
 * The workflow (--workflow, e.g. CallFlow): a test call gets {id, url}, the same call again the
 * same id, and a call with fields a future CONNECTOR might add is accepted.
 */

/** Gives the call the workflow accepted and, when it answered one, the id it gave. */
export const answer = checkPoint({
  id: 'workflow.answer',
  title: 'Workflow answers {id, url}',
  needs: ['workflow', 'accepted'],
  uses: ['number', 'firstContact'],
  gives: ['call', 'recorded'],
  async run({ settings, facts }) {
    const path = workflowPath(facts.workflow);
    const call = testCall(settings, facts.number ?? settings.missNumber, facts.firstContact);
    const posted = await send(settings.target, { path, body: { inputs: call } });
    const what = `POST ${path}`;
    if (posted.status === undefined) return { findings: [noAnswer(posted, what)], passed: '' };
    if (posted.status === 429) return { findings: [limited(posted, what, 'fail')], passed: '' };
    const checked = workflowFindings(posted.status, posted.text, posted.json, posted.isJson);
    const findings = [...checked.findings];
    const accepted = posted.status >= 200 && posted.status < 300;
    if (posted.status === 404) {
      findings[0] = fail(
        `${what} answered 404`,
        `Serve the workflow at <root>/${facts.workflow}: the name is the one listed in crmActions, case included.`,
      );
    }
    return {
      findings,
      passed: `200 {id: "${checked.id}", url: "${checked.url}"} in ${ms(posted.ms)}`,
      ...(accepted && {
        facts: { call, ...(checked.id !== undefined && { recorded: { call, id: checked.id } }) },
      }),
    };
  },
});

export const repeat = checkPoint({
  id: 'workflow.repeat',
  title: 'Same call twice gets the same id',
  needs: ['workflow', 'accepted', 'recorded'],
  async run({ settings, facts: { workflow, recorded } }) {
    const path = workflowPath(workflow);
    const posted = await send(settings.target, { path, body: { inputs: recorded.call } });
    if (posted.status === undefined)
      return { findings: [noAnswer(posted, `POST ${path} again`)], passed: '' };
    if (posted.status === 429) {
      return { findings: [limited(posted, `POST ${path} again`, 'fail')], passed: '' };
    }
    const again = workflowFindings(posted.status, posted.text, posted.json, posted.isJson);
    const findings = again.findings.filter((f) => f.level === 'fail');
    if (findings.length === 0 && again.id !== recorded.id) {
      findings.push(
        warn(
          again.id === undefined
            ? `the same call posted again got no id, where the first got ${JSON.stringify(recorded.id)}`
            : `the same call posted again got id ${JSON.stringify(again.id)}, not ${JSON.stringify(recorded.id)}`,
          'The CONNECTOR may send the same call more than once (CallFlow can run automatically after every call): derive the record from the call (numbers, direction, user, start time) so that a repeat updates it instead of creating another.',
        ),
      );
    }
    return { findings, passed: `the same id again (${recorded.id})` };
  },
});

export const extended = checkPoint({
  id: 'workflow.extended',
  title: 'Workflow accepts unknown input fields',
  needs: ['workflow', 'accepted', 'call'],
  async run({ settings, facts: { workflow, call } }) {
    const path = workflowPath(workflow);
    // The same call once more, with fields a future CONNECTOR might add.
    const inputs = { ...call, callId: 'callcard-check-1', queueName: 'Support', recording: { seconds: 95 } };
    const posted = await send(settings.target, { path, body: { inputs } });
    const what = `POST ${path} with unknown fields in inputs`;
    let findings: Finding[];
    if (posted.status === undefined) findings = [noAnswer(posted, what)];
    else if (posted.status === 429) findings = [limited(posted, what, 'fail')];
    else if (posted.status < 200 || posted.status > 299) {
      findings = [
        fail(
          `${what} answered ${posted.status}: ${excerpt(posted.text, 80)}`,
          'The API says the workflow payload "could be extended in the future": accept and ignore (or keep) fields you do not know.',
        ),
      ];
    } else findings = [];
    return { findings, passed: `${posted.status}` };
  },
});

export const badBody = checkPoint({
  id: 'workflow.bad-body',
  title: 'Workflow: bad body gives 4xx with a JSON error',
  needs: ['workflow', 'accepted'],
  run: ({ settings, facts: { workflow } }) =>
    badBodies(
      settings.target,
      [
        { label: 'truncated JSON', raw: '{"inputs":{"direction":"inc' },
        { label: '{"inputs":"..."}', body: { inputs: 'incoming' } },
      ],
      workflowPath(workflow),
    ),
});

export const WORKFLOW_POINTS = [answer, repeat, extended, badBody] as const;
