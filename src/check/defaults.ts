/** The checker's and the simulator's defaults, apart from their code so that `--help` can show them cheaply. */

export const CHECK_DEFAULTS = {
  samples: 20,
  timeoutMs: 5000,
  // The CONNECTOR's own wait is not published. The lookup runs while the phone rings and the card is
  // only useful before the user answers, so it must come within the first ring (about a second):
  // callcard itself answers by 1.5 s whatever its sources do.
  maxP95Ms: 1500,
  warnP95Ms: 500,
} as const;

export const SIMULATE_DEFAULTS = {
  ringMs: 5000,
  talkSeconds: 60,
  workflow: 'CallFlow',
  timeoutMs: 5000,
} as const;
