/**
 * respond: writing answers — a JSON or YAML body with its Content-Type, a Status for an error,
 * and registry warnings as `Warning: 299 - "..."` headers.
 */
import type { ServerResponse } from 'node:http';
import { stringify } from 'yaml';
import type { ApiError } from '../registry-api.js';
import { wireStatus } from './status.js';

/** BodyForm is how a body is serialised. */
export type BodyForm = 'json' | 'yaml';

/**
 * warningHeaders renders warnings as RFC 7234 Warning header values with code 299: quotes and
 * backslashes escaped, line breaks as spaces, and characters a header cannot carry (outside
 * printable ASCII) as '?', so no warning text can make the response fail.
 */
export function warningHeaders(warnings: readonly string[]): string[] {
  return warnings.map((w) => {
    const text = w.replace(/[\r\n]+/g, ' ').replace(/[^\x20-\x7e]/g, '?').replace(/[\\"]/g, (c) => `\\${c}`);
    return `299 - "${text}"`;
  });
}

/** sendBody writes a whole response: status code, Content-Type and the serialised body. */
export function sendBody(
  res: ServerResponse,
  code: number,
  body: unknown,
  form: BodyForm,
  extra: { readonly contentType?: string; readonly warnings?: readonly string[] } = {},
): void {
  const text = form === 'yaml' ? stringify(body) : JSON.stringify(body);
  const contentType = extra.contentType ?? (form === 'yaml' ? 'application/yaml' : 'application/json');
  res.statusCode = code;
  res.setHeader('Content-Type', contentType);
  res.setHeader('Content-Length', Buffer.byteLength(text));
  if (extra.warnings !== undefined && extra.warnings.length > 0) res.setHeader('Warning', warningHeaders(extra.warnings));
  res.end(text);
}

/** sendText writes a plain-text answer (health checks). */
export function sendText(res: ServerResponse, code: number, text: string): void {
  res.statusCode = code;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

/** sendError writes an ApiError as a Status with the error's HTTP code. */
export function sendError(res: ServerResponse, e: ApiError, form: BodyForm = 'json'): void {
  sendBody(res, e.code, wireStatus(e), form);
}
