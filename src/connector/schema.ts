import * as z from 'zod';
import { type ErrorCode, ErrorCodes, ErrorMessages as M } from '../errors.js';
import { parseIsoTime } from '../util/time.js';

/**
 * The CONNECTOR's wire, described once: each request field with the rule that reads it and each
 * answer field, with descriptions and examples. The readers (`wire.ts`) take their field names and
 * rules from here, the HTTP layer its serializers, and the OpenAPI document its schemas.
 *
 * A request schema describes what a client may send (its JSON Schema is the *input* side); the
 * readers add what JSON Schema cannot say: names in any case, and problems reported in the order
 * the fields came.
 */

// ---- Rules of the request fields ---------------------------------------------------------------

/** A string, or a number read as its text (some clients send numbers as JSON numbers). */
function wireText(message: string) {
  return z.union([z.string(), z.number()], { error: message }).transform(String);
}

// Far longer than any written number; the number's clean-up takes time that grows faster than its length.
export const MAX_NUMBER_LENGTH = 100;

/** The number to look up, as text: a string or a number, at most `MAX_NUMBER_LENGTH` characters. */
export const NumberText = wireText(M.PHONE_NUMBER_NOT_TEXT).refine(
  (text) => text.trim().length <= MAX_NUMBER_LENGTH,
  { error: M.phoneNumberTooLong(MAX_NUMBER_LENGTH) },
);

export { parseIsoTime };

// Levels of arrays and objects a field may have: far beyond any payload, and the journal's JSON
// functions and the call's identity (both recursive) stay within their limits.
export const MAX_FIELD_DEPTH = 32;

/** True when `value` nests arrays and objects more than `levels` deep; looks no deeper than that. */
function deeperThan(value: unknown, levels: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (levels === 0) return true;
  return Object.values(value).some((item) => deeperThan(item, levels - 1));
}

// ---- Lookup ------------------------------------------------------------------------------------

export const LookupRequest = z
  .object({
    inputs: z.object({
      phoneNumber: NumberText.nullish().meta({
        description:
          'The number calling or called, in international form without `+` (`41215522000`), with `+` or `00`, or national. Missing, empty or withheld (`anonymous`): the answer is `[]`.',
        examples: ['41215522000', '+41 21 552 20 00', 41215522000],
      }),
    }),
  })
  .meta({
    description: 'Names are read in any case (`Inputs`, `PhoneNumber`); other fields are ignored.',
  });

/** One contact card, its fields in the order of the API's sample (the order they are written in). */
export const Contact = z
  .object({
    name: z
      .string()
      .optional()
      .meta({ description: 'Full name of the contact, shown on the card.', examples: ['Alexa Holiday'] }),
    company: z
      .string()
      .optional()
      .meta({
        description: 'Company the contact belongs to, shown on the card.',
        examples: ['White Cross Co'],
      }),
    contactUri: z
      .string()
      .optional()
      .meta({
        description: "Address of the contact's page in the CRM; the card links to it.",
        examples: ['https://crm.example.com/contacts/1'],
      }),
    companyUri: z
      .string()
      .optional()
      .meta({
        description: "Address of the company's page in the CRM; the card links to it.",
        examples: ['https://crm.example.com/accounts/9'],
      }),
    id: z.string().meta({
      description: 'Id of the contact in its source, sent back as `contactCrmId` in workflows. Not shown.',
      examples: ['1'],
    }),
    crmName: z.string().meta({
      description: 'Name of the source, shown as the tooltip of its logo.',
      examples: ['callcard'],
    }),
    crmLogo: z
      .string()
      .optional()
      .meta({
        description: 'Address of the logo shown on the card.',
        examples: ['https://callcard.example.com/logo.svg'],
      }),
    crmActions: z.array(z.string()).meta({
      description: 'Workflows that can run for this contact (`POST <base>/<name>`).',
      examples: [['CallFlow']],
    }),
    customData: z
      .record(z.string(), z.string())
      .optional()
      .meta({
        description: 'More fields shown as label: value, such as the e-mail address.',
        examples: [{ email: 'alexa@example.com' }],
      }),
  })
  .meta({ description: 'One contact card. Values a contact does not have are left out, never null.' });

export type WireContact = z.output<typeof Contact>;

export const LookupAnswer = z.array(Contact).meta({
  description: 'The contacts found, best first, at most `maxResults`; `[]` when none (never 404).',
});

// ---- Workflows ---------------------------------------------------------------------------------

/** The call fields of Part 2 that are text, as the CONNECTOR names them: what they hold, an example. */
const CALL_TEXT = {
  contactCrmId: ['Id of the contact, as the lookup gave it.', '1'],
  userCrmId: ['Id of the user linked to the SIP user (CUSTOMER-PORTAL).', 'u7'],
  originatorNumber: ['Number that made the call.', '41215522000'],
  originatorName: ['Name of the caller, when known.', 'Alexa Holiday'],
  destinationNumber: ['Number that was dialled.', '41445556677'],
  destinationName: ['Name of the person who answered, when known.', 'Reception'],
} as const;
/** The call's times. */
const CALL_TIMES = {
  startedTime: 'When the call started ringing.',
  answeredTime: 'When the call was answered; empty when it was not (the call is recorded as missed).',
  endedTime: 'When the call ended.',
  declinedTime: 'When the call was declined; empty when it was answered.',
} as const;

export type CallTextField = keyof typeof CALL_TEXT;
export type CallTimeField = keyof typeof CALL_TIMES;
export const CALL_TEXT_FIELDS = Object.keys(CALL_TEXT) as CallTextField[];
export const CALL_TIME_FIELDS = Object.keys(CALL_TIMES) as CallTimeField[];

/** Directions, as the reader compares them: trimmed and in lower case; empty is none. */
const DIRECTIONS: readonly string[] = ['incoming', 'outgoing', ''];

const callText = (name: CallTextField) =>
  wireText(M.notText(name))
    .nullish()
    .meta({ description: CALL_TEXT[name][0], examples: [CALL_TEXT[name][1]] });

/** Numbers as their text, for the rules that read text; anything else as it came. */
const numberAsText = (value: unknown) =>
  typeof value === 'number' && Number.isFinite(value) ? String(value) : value;

/** A time is sent as a string; a number is read as text (and is no time). */
const callTime = (name: CallTimeField) =>
  z
    .preprocess(
      numberAsText,
      z
        .string({ error: M.notText(name) })
        .refine((text) => text.trim() === '' || parseIsoTime(text.trim()) !== undefined, {
          error: M.notTime(name),
        }),
    )
    .nullish()
    .meta({
      description: `${CALL_TIMES[name]} ISO-8601, with or without zone (\`2026-11-26T10:00:00Z\`), or empty.`,
      examples: ['2026-11-26T10:00:00Z'],
    });

/** A field the API does not list: any JSON, kept as sent, within `MAX_FIELD_DEPTH`. */
export const OtherCallField = z.unknown().refine((value) => !deeperThan(value, MAX_FIELD_DEPTH));

/**
 * The call's fields. Each gives its value as sent (text, untrimmed; null when absent); fields not
 * listed are kept as sent, unless nested deeper than `MAX_FIELD_DEPTH`.
 */
export const CallInputs = z
  .object({
    ...(Object.fromEntries(CALL_TEXT_FIELDS.map((name) => [name, callText(name)])) as Record<
      CallTextField,
      ReturnType<typeof callText>
    >),
    direction: z
      .preprocess(
        numberAsText,
        z
          .string({ error: M.notText('direction') })
          .refine((text) => DIRECTIONS.includes(text.trim().toLowerCase()), {
            error: (issue) => M.notDirection(String(issue.input).trim()),
          }),
      )
      .nullish()
      .meta({
        // What a client sends; the reader also takes any case and surrounding spaces.
        enum: ['incoming', 'outgoing', '', null],
        description: 'Direction of the call, in any case.',
        examples: ['incoming'],
      }),
    ...(Object.fromEntries(CALL_TIME_FIELDS.map((name) => [name, callTime(name)])) as Record<
      CallTimeField,
      ReturnType<typeof callTime>
    >),
  })
  .catchall(OtherCallField)
  .meta({
    description:
      'The call. Names are read in any case; fields not listed are kept with the call record as sent.',
  });

export type CallField = keyof typeof CallInputs.shape;

export const WorkflowRequest = z.object({ inputs: CallInputs });

export const WorkflowAnswer = z.object({
  id: z.string().meta({
    description: 'Id of the record: the one the CRM created, or the call journal entry.',
    examples: ['DL9nRm1DLM61yWcRVfrxkQ'],
  }),
  url: z.url().meta({ description: 'Address that opens the record.' }),
});

// ---- Errors ------------------------------------------------------------------------------------

// A 5xx answer never says more than INTERNAL: the handler hides the code that caused it.
export const HTTP_ERROR_CODES = [
  ...(Object.keys(ErrorCodes) as ErrorCode[]).filter((code) => ErrorCodes[code] < 500),
  'INTERNAL',
] as const satisfies readonly ErrorCode[];

export const ErrorAnswer = z.object({
  error: z.object({
    code: z.enum(HTTP_ERROR_CODES),
    message: z.string().meta({ description: 'What to fix, for a person.' }),
  }),
});
