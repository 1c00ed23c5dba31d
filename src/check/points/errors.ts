import { checkPoint } from './context.js';
import { badBodies } from './findings.js';

/** Bad lookups: each gets a 4xx with a JSON error, never a 5xx or silence. */

export const invalidJson = checkPoint({
  id: 'errors.invalid-json',
  title: 'Invalid JSON: 4xx with a JSON error',
  needs: ['accepted'],
  run: ({ settings }) =>
    badBodies(settings.target, [{ label: 'truncated JSON', raw: '{"inputs":{"phoneNumber":"4121' }]),
});

export const missingInputs = checkPoint({
  id: 'errors.missing-inputs',
  title: 'No inputs: 4xx with a JSON error',
  needs: ['accepted'],
  run: ({ settings }) =>
    badBodies(settings.target, [
      { label: '{}', body: {} },
      { label: 'an empty body', raw: '' },
    ]),
});

export const wrongTypes = checkPoint({
  id: 'errors.wrong-types',
  title: 'Wrongly typed inputs: 4xx with a JSON error',
  needs: ['accepted'],
  run: ({ settings: { target, missNumber } }) =>
    badBodies(target, [
      { label: '{"inputs":"<number>"}', body: { inputs: missNumber } },
      { label: '{"inputs":{"phoneNumber":[...]}}', body: { inputs: { phoneNumber: [missNumber] } } },
    ]),
});

export const ERRORS_POINTS = [invalidJson, missingInputs, wrongTypes] as const;
