import * as z from 'zod';

/** An HTTP header name: an RFC 9110 token. */
export const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export const headerName = z.string().regex(HEADER_NAME, 'must be an HTTP header name');
export const noLineBreak = (value: string) => !/[\r\n\0]/.test(value);
