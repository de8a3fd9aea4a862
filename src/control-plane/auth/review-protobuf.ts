/**
 * review-protobuf: reading the reviews kubectl sends as protobuf. client-go's typed clients
 * (which `kubectl auth can-i` and `kubectl auth can-i --list` use) encode request bodies as
 * `application/vnd.kubernetes.protobuf` and do not retry as JSON on 415, so the apiserver must
 * read that encoding for these two kinds; it may still answer in JSON (kubectl accepts both).
 *
 * The encoding: the 4 bytes "k8s\0", then a runtime.Unknown message {1: typeMeta {1: apiVersion,
 * 2: kind}, 2: raw (the object's own message), 3: contentEncoding, 4: contentType}. Only the
 * fields the reviews carry are read (by field number, from k8s.io/api/authorization/v1's
 * generated.proto); protobufjs's Reader walks the wire format.
 */
import protobuf from 'protobufjs/minimal.js';
import { err, ok, type Result } from '../api/types.js';

/** PROTOBUF_CONTENT_TYPE is Kubernetes' protobuf media type. */
export const PROTOBUF_CONTENT_TYPE = 'application/vnd.kubernetes.protobuf';

const MAGIC = [0x6b, 0x38, 0x73, 0x00];
const LENGTH_DELIMITED = 2;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Fields are a message's length-delimited fields by number (strings and nested messages). */
type Fields = ReadonlyMap<number, Uint8Array>;

/**
 * decodeReviewBody reads a SelfSubjectAccessReview or SelfSubjectRulesReview body as JSON or as
 * Kubernetes protobuf, by its Content-Type, into the JSON shape reviews.ts decodes.
 */
export function decodeReviewBody(contentType: string | undefined, body: Uint8Array): Result<unknown, string> {
  const type = (contentType ?? 'application/json').split(';')[0]?.trim().toLowerCase() ?? '';
  if (type === PROTOBUF_CONTENT_TYPE) return decodeReviewProtobuf(body);
  if (type === 'application/json' || type === '') {
    try {
      return ok(JSON.parse(Buffer.from(body).toString('utf8')) as unknown);
    } catch (e: unknown) {
      return err(`The request body is not valid JSON (${e instanceof Error ? e.message : String(e)}); send a JSON object`);
    }
  }
  return err(`The media type ${JSON.stringify(type)} is not supported for reviews; send application/json or ${PROTOBUF_CONTENT_TYPE}`);
}

/**
 * decodeReviewProtobuf reads a protobuf-encoded SelfSubjectAccessReview or SelfSubjectRulesReview
 * into its JSON shape: {apiVersion, kind, metadata: {}, spec}. Object metadata is not read (a
 * review's metadata carries nothing the answer depends on).
 */
export function decodeReviewProtobuf(bytes: Uint8Array): Result<Record<string, unknown>, string> {
  if (bytes.length < MAGIC.length || MAGIC.some((b, i) => bytes[i] !== b)) {
    return err(`The body does not start with the Kubernetes protobuf prefix "k8s\\0"; send ${PROTOBUF_CONTENT_TYPE} as client-go encodes it`);
  }
  try {
    const unknown = fieldsOf(bytes.subarray(MAGIC.length));
    const typeMeta = fieldsOf(unknown.get(1));
    const apiVersion = text(typeMeta.get(1));
    const kind = text(typeMeta.get(2));
    const raw = fieldsOf(unknown.get(2));
    const spec = fieldsOf(raw.get(2));
    const base = { apiVersion, kind, metadata: {} };
    if (kind === 'SelfSubjectAccessReview') return ok({ ...base, spec: accessSpec(spec) });
    if (kind === 'SelfSubjectRulesReview') {
      const namespace = text(spec.get(1));
      return ok({ ...base, spec: namespace === '' ? {} : { namespace } });
    }
    return err(`A protobuf body of kind ${JSON.stringify(kind)} is not a review; send a SelfSubjectAccessReview or SelfSubjectRulesReview`);
  } catch (e: unknown) {
    return err(`The protobuf body is malformed (${e instanceof Error ? e.message : String(e)}); send it as client-go encodes it`);
  }
}

/** ResourceAttributes' fields by number (authorization/v1 generated.proto). */
const RESOURCE_ATTRIBUTE_FIELDS: readonly (readonly [number, string])[] = [
  [1, 'namespace'],
  [2, 'verb'],
  [3, 'group'],
  [4, 'version'],
  [5, 'resource'],
  [6, 'subresource'],
  [7, 'name'],
];

function accessSpec(spec: Fields): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const ra = spec.get(1);
  if (ra !== undefined) {
    const f = fieldsOf(ra);
    const attrs: Record<string, string> = {};
    for (const [n, name] of RESOURCE_ATTRIBUTE_FIELDS) {
      const v = text(f.get(n));
      if (v !== '') attrs[name] = v;
    }
    out['resourceAttributes'] = attrs;
  }
  const nra = spec.get(2);
  if (nra !== undefined) {
    const f = fieldsOf(nra);
    out['nonResourceAttributes'] = { path: text(f.get(1)), verb: text(f.get(2)) };
  }
  return out;
}

/** fieldsOf reads a message's length-delimited fields (the last occurrence wins), skipping the rest. */
function fieldsOf(bytes: Uint8Array | undefined): Fields {
  const fields = new Map<number, Uint8Array>();
  if (bytes === undefined) return fields;
  const reader = protobuf.Reader.create(bytes);
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (wireType === LENGTH_DELIMITED) fields.set(field, reader.bytes());
    else reader.skipType(wireType);
  }
  return fields;
}

function text(bytes: Uint8Array | undefined): string {
  return bytes === undefined ? '' : utf8.decode(bytes);
}
