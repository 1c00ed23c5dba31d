import { AUTH_POINTS } from './auth.js';
import { ERRORS_POINTS } from './errors.js';
import { LATENCY_POINTS } from './latency.js';
import { LOOKUP_POINTS } from './lookup.js';
import { SERVICE_POINTS } from './service.js';
import { WORKFLOW_POINTS } from './workflow.js';

/** Every point of `callcard check`, in the order they are reported. */
export const POINTS = [
  ...SERVICE_POINTS,
  ...AUTH_POINTS,
  ...LOOKUP_POINTS,
  ...ERRORS_POINTS,
  ...WORKFLOW_POINTS,
  ...LATENCY_POINTS,
] as const;

export type CheckId = (typeof POINTS)[number]['id'];
