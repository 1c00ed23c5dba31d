import * as z from 'zod';
import { headerName } from '../../net/headers.js';

/**
 * A CSV or vCard file, or an http(s) URL of one, mirrored into the local index and read again when
 * it changes. Exactly one of `path` and `url` (checked when the source is created).
 */
export const fileSourceSchema = z.object({
  type: z.literal('file'),
  /** The file; a relative path is read against the config file's directory. */
  path: z.string().min(1).optional(),
  /** Or an http(s) URL of the file, downloaded at each sync it has changed. */
  url: z.url({ protocol: /^https?$/ }).optional(),
  /** Sent with each request to `url`; never logged. A secret value goes in headersEnv or headersFile. */
  headers: z.record(headerName, z.string()).optional(),
  /** Headers whose values are in environment variables: `{ Authorization: CRM_EXPORT_AUTH }`. */
  headersEnv: z.record(headerName, z.string().min(1)).optional(),
  /** Headers whose values are in files (relative to the config's folder): `{ Authorization: export.auth }`. */
  headersFile: z.record(headerName, z.string().min(1)).optional(),
  /** By default from the file's extension, the server's content type, else its first line. */
  format: z.enum(['csv', 'vcard']).optional(),
  /** Largest download from `url`, in bytes. */
  maxBytes: z.coerce.number().int().positive().optional(),
});
