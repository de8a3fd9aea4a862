/**
 * body: reading a request body under a size limit, and decoding it as JSON or YAML with an
 * error that says what is wrong and where (line and column), or as Kubernetes protobuf.
 */
import type { IncomingMessage } from 'node:http';
import { parseAllDocuments } from 'yaml';
import { err, ok, type Result } from '../../api/types.js';
import type { ApiError, PatchType } from '../registry-api.js';
import { decodeProtobuf, PROTOBUF_CONTENT_TYPE } from './protobuf.js';
import { badRequest, tooLarge, unsupportedMediaType } from './status.js';

/** DEFAULT_MAX_BODY_BYTES is Kubernetes' default request size limit: 3 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 3 * 1024 * 1024;

/** BodyError says why a body could not be read: too large (the connection must close) or other. */
export interface BodyError {
  readonly error: ApiError;
  /** closeConnection is set when the rest of the body will not be read, so the connection cannot be reused. */
  readonly closeConnection: boolean;
}

/** DRAIN_FACTOR bounds how much of an oversized body is read and thrown away: this many limits. */
const DRAIN_FACTOR = 8;

/**
 * readBody reads the whole body, up to `limit` bytes. Over the limit it answers 413 at once and
 * reads the rest only to throw it away: a client still writing its body would otherwise see
 * a broken pipe instead of the answer. Past DRAIN_FACTOR limits it stops reading and the
 * connection closes.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Result<Buffer, BodyError>> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    const drain = declared <= limit * DRAIN_FACTOR;
    // NB: Node reads and discards an unread body after the response when the connection stays open.
    return Promise.resolve(err({ error: tooLarge(limit), closeConnection: !drain }));
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (r: Result<Buffer, BodyError>): void => {
      if (done) return;
      done = true;
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
      resolve(r);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit * DRAIN_FACTOR) {
        req.off('data', onData);
        req.pause();
        req.socket.destroy();
        return;
      }
      if (size > limit) {
        chunks.length = 0;
        finish(err({ error: tooLarge(limit), closeConnection: false }));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      req.off('data', onData);
      finish(ok(Buffer.concat(chunks)));
    };
    const onError = (e: Error): void => finish(err({ error: badRequest(`The request body could not be read (${e.message}); send it again`), closeConnection: true }));
    // A client that goes away mid-body ends the request without 'end'.
    const onClose = (): void => finish(err({ error: badRequest('The client closed the connection before the body was complete; send it again'), closeConnection: true }));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.once('close', onClose);
  });
}

/** BodyFormat is how a body is encoded. */
export type BodyFormat = 'json' | 'yaml' | 'protobuf';

/** mediaTypeOf is the Content-Type without parameters, lower-cased ('' when absent). */
export function mediaTypeOf(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

const OBJECT_TYPES = ['application/json', 'application/yaml', PROTOBUF_CONTENT_TYPE];

/** objectBodyFormat is the format of a create or update body, from its Content-Type. */
export function objectBodyFormat(contentType: string | undefined): Result<BodyFormat, ApiError> {
  const t = mediaTypeOf(contentType);
  if (t === '' || t === 'application/json') return ok('json');
  if (t === 'application/yaml' || t === 'text/yaml') return ok('yaml');
  if (t === PROTOBUF_CONTENT_TYPE) return ok('protobuf');
  return err(unsupportedMediaType(t, OBJECT_TYPES));
}

const PATCH_TYPES: ReadonlyMap<string, PatchType> = new Map([
  ['application/json-patch+json', 'json'],
  ['application/merge-patch+json', 'merge'],
  ['application/strategic-merge-patch+json', 'strategic'],
  ['application/apply-patch+yaml', 'apply'],
]);

/** patchTypeOf maps a PATCH's Content-Type to the patch type (415 for anything else). */
export function patchTypeOf(contentType: string | undefined): Result<PatchType, ApiError> {
  const t = mediaTypeOf(contentType);
  const p = PATCH_TYPES.get(t);
  return p === undefined ? err(unsupportedMediaType(t, [...PATCH_TYPES.keys()])) : ok(p);
}

function lineColumn(text: string, position: number): string {
  let line = 1;
  let col = 1;
  for (let i = 0; i < position && i < text.length; i++) {
    if (text[i] === '\n') { line++; col = 1; } else col++;
  }
  return `line ${line}, column ${col}`;
}

function jsonErrorPlace(text: string, message: string): string {
  const m = /position (\d+)/.exec(message);
  if (m !== null) return lineColumn(text, Number(m[1]));
  if (/end of JSON input/i.test(message)) return 'the end of the body';
  return 'an unknown place';
}

/**
 * decodeBody parses a body as JSON or YAML (one document). Empty bodies and bodies that are not
 * objects are refused (400) unless `allowArray` (JSON patches are arrays).
 */
export function decodeBody(raw: Buffer, format: BodyFormat, allowArray = false): Result<unknown, ApiError> {
  if (format === 'protobuf') return raw.length === 0 ? err(badRequest('The request body is empty; send the object')) : decodeProtobuf(raw);
  const text = raw.toString('utf8');
  if (text.trim() === '') return err(badRequest('The request body is empty; send the object as JSON or YAML'));
  let value: unknown;
  if (format === 'json') {
    try {
      value = JSON.parse(text);
    } catch (e: unknown) {
      const message = e instanceof Error ? e.message : String(e);
      return err(badRequest(`The request body is not valid JSON: ${message} (at ${jsonErrorPlace(text, message)}); fix the body and send it again`));
    }
  } else {
    const docs = parseAllDocuments(text);
    if (!Array.isArray(docs)) return err(badRequest('The request body holds no YAML document; send the object as YAML'));
    if (docs.length !== 1) return err(badRequest(`The request body holds ${docs.length} YAML documents; send one object per request`));
    const doc = docs[0]!;
    const first = doc.errors[0];
    if (first !== undefined) {
      const pos = first.linePos?.[0];
      const where = pos !== undefined ? `line ${pos.line}, column ${pos.col}` : 'an unknown place';
      return err(badRequest(`The request body is not valid YAML: ${first.message.split('\n')[0] ?? first.code} (at ${where}); fix the body and send it again`));
    }
    value = doc.toJS();
  }
  const isObject = typeof value === 'object' && value !== null && !Array.isArray(value);
  if (!isObject && !(allowArray && Array.isArray(value))) {
    return err(badRequest(`The request body must be ${allowArray ? 'a JSON object or array' : 'an object'}, not ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}; send the object`));
  }
  return ok(value);
}
