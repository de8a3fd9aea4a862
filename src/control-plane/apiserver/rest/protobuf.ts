/**
 * protobuf: request bodies in Kubernetes' protobuf encoding, as kubectl's typed clients send
 * them (`kubectl create namespace|configmap|secret|deployment|...`, `kubectl auth can-i`):
 * the magic `k8s\0`, then a runtime.Unknown envelope {typeMeta, raw}, where raw is the typed
 * message. The typed message is decoded against the schemas in proto-schemas.ts into the
 * object's JSON form. A field this server has no schema for is refused (415) rather than
 * dropped, so nothing a client sent is silently lost.
 */
import { err, ok, type Result } from '../../api/types.js';
import type { ApiError } from '../registry-api.js';
import { PROTO_KINDS, PROTO_MESSAGES, type FieldSpec } from './proto-schemas.js';
import { badRequest } from './status.js';

/** PROTOBUF_CONTENT_TYPE is Kubernetes' protobuf media type. */
export const PROTOBUF_CONTENT_TYPE = 'application/vnd.kubernetes.protobuf';

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

class Malformed extends Error {}

class Unsupported extends Error {}

interface WireField {
  readonly num: number;
  readonly wireType: number;
  /** varint values as bigint; length-delimited values as bytes. */
  readonly varint?: bigint;
  readonly bytes?: Buffer;
}

function readVarint(b: Buffer, at: number): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  let i = at;
  for (;;) {
    if (i >= b.length) throw new Malformed('a varint runs past the end');
    const c = b[i++]!;
    result |= BigInt(c & 0x7f) << shift;
    if (c < 0x80) return [result, i];
    shift += 7n;
    if (shift > 63n) throw new Malformed('a varint is longer than 10 bytes');
  }
}

function readFields(b: Buffer): WireField[] {
  const out: WireField[] = [];
  let i = 0;
  while (i < b.length) {
    const [key, next] = readVarint(b, i);
    i = next;
    const num = Number(key >> 3n);
    const wireType = Number(key & 7n);
    if (num === 0) throw new Malformed('a field has number 0');
    switch (wireType) {
      case 0: {
        const [v, n] = readVarint(b, i);
        i = n;
        out.push({ num, wireType, varint: v });
        break;
      }
      case 2: {
        const [len, n] = readVarint(b, i);
        const end = n + Number(len);
        if (end > b.length) throw new Malformed(`field ${num} runs past the end`);
        out.push({ num, wireType, bytes: b.subarray(n, end) });
        i = end;
        break;
      }
      case 1:
        i += 8;
        out.push({ num, wireType });
        break;
      case 5:
        i += 4;
        out.push({ num, wireType });
        break;
      default:
        throw new Malformed(`field ${num} has wire type ${wireType}`);
    }
    if (i > b.length) throw new Malformed('the last field runs past the end');
  }
  return out;
}

function str(f: WireField, where: string): string {
  if (f.bytes === undefined) throw new Malformed(`${where} is not length-delimited`);
  return f.bytes.toString('utf8');
}

function int(f: WireField, where: string): number {
  if (f.varint === undefined) throw new Malformed(`${where} is not a varint`);
  return Number(BigInt.asIntN(64, f.varint));
}

function rfc3339(fields: readonly WireField[], where: string): string | undefined {
  let seconds = 0;
  for (const f of fields) if (f.num === 1) seconds = int(f, `${where}.seconds`);
  // The zero time (empty message, or year 1) means unset.
  if (seconds <= -62135596800) return undefined;
  if (seconds === 0 && fields.length === 0) return undefined;
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function scalar(f: WireField, spec: FieldSpec, where: string): unknown {
  switch (spec.type) {
    case 'string':
      return str(f, where);
    case 'bytes':
      if (f.bytes === undefined) throw new Malformed(`${where} is not length-delimited`);
      return f.bytes.toString('base64');
    case 'int':
      return int(f, where);
    case 'bool':
      return int(f, where) !== 0;
    case 'time':
      return rfc3339(readFields(f.bytes ?? Buffer.alloc(0)), where);
    case 'quantity': {
      const q = readFields(f.bytes ?? Buffer.alloc(0)).find((x) => x.num === 1);
      return q === undefined ? undefined : str(q, where);
    }
    case 'intorstring': {
      let type = 0;
      let intVal = 0;
      let strVal = '';
      for (const x of readFields(f.bytes ?? Buffer.alloc(0))) {
        if (x.num === 1) type = int(x, where);
        else if (x.num === 2) intVal = int(x, where);
        else if (x.num === 3) strVal = str(x, where);
      }
      return type === 1 ? strVal : intVal;
    }
    case 'message':
      return message(f.bytes ?? Buffer.alloc(0), spec.message, where);
    case 'map':
      throw new Malformed(`${where} is a map`);
  }
}

function isEmpty(v: unknown): boolean {
  if (v === undefined || v === '' || v === 0 || v === false) return true;
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0;
}

function mapEntry(f: WireField, spec: FieldSpec, where: string): [string, unknown] {
  let key = '';
  let value: unknown = spec.mapValue === 'string' ? '' : undefined;
  for (const x of readFields(f.bytes ?? Buffer.alloc(0))) {
    if (x.num === 1) key = str(x, `${where} key`);
    else if (x.num === 2) value = scalar(x, { name: 'value', type: spec.mapValue ?? 'string', repeated: false, keepZero: true, message: '' }, `${where}[${key}]`);
  }
  if (spec.mapValue === 'bytes' && value === undefined) value = '';
  return [key, value];
}

function message(b: Buffer, name: string, where: string): Record<string, unknown> {
  const schema = PROTO_MESSAGES.get(name);
  if (schema === undefined) throw new Unsupported(`${where} (${name})`);
  const out: Record<string, unknown> = {};
  for (const f of readFields(b)) {
    const spec = schema.get(f.num);
    if (spec === undefined) throw new Unsupported(`field ${f.num} of ${name} at ${where}`);
    const at = `${where}.${spec.name}`;
    if (spec.type === 'map') {
      const [k, v] = mapEntry(f, spec, at);
      const m = (out[spec.name] ?? {}) as Record<string, unknown>;
      m[k] = v;
      out[spec.name] = m;
      continue;
    }
    const v = scalar(f, spec, at);
    if (spec.repeated) {
      const list = (out[spec.name] ?? []) as unknown[];
      list.push(v ?? (spec.type === 'message' ? {} : v));
      out[spec.name] = list;
    } else if (!isEmpty(v) || (spec.keepZero && v !== undefined)) {
      out[spec.name] = v;
    }
  }
  return out;
}

/**
 * decodeProtobuf decodes a Kubernetes protobuf body into the object's JSON form with its
 * apiVersion and kind from the envelope. Malformed bytes are a 400; a kind or field without a
 * schema here is a 415 that asks for JSON instead.
 */
export function decodeProtobuf(body: Buffer): Result<Record<string, unknown>, ApiError> {
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC)) {
    return err(badRequest('The protobuf body does not start with the Kubernetes magic bytes "k8s\\0"; send a Kubernetes protobuf envelope or JSON'));
  }
  try {
    let apiVersion = '';
    let kind = '';
    let raw: Buffer | undefined;
    for (const f of readFields(body.subarray(4))) {
      if (f.num === 1) {
        for (const t of readFields(f.bytes ?? Buffer.alloc(0))) {
          if (t.num === 1) apiVersion = str(t, 'typeMeta.apiVersion');
          if (t.num === 2) kind = str(t, 'typeMeta.kind');
        }
      } else if (f.num === 2) raw = f.bytes;
      else if (f.num === 3 && str(f, 'contentEncoding') !== '') {
        return err(unsupported(`a content encoding "${str(f, 'contentEncoding')}"`));
      }
    }
    const messageName = kind === 'DeleteOptions' ? 'DeleteOptions' : PROTO_KINDS.get(`${apiVersion}/${kind}`);
    if (messageName === undefined) return err(unsupported(`a ${kind || 'object without a kind'} (${apiVersion || 'no apiVersion'})`));
    return ok({ apiVersion, kind, metadata: {}, ...message(raw ?? Buffer.alloc(0), messageName, kind) });
  } catch (e: unknown) {
    if (e instanceof Unsupported) return err(unsupported(e.message));
    if (e instanceof Malformed) return err(badRequest(`The protobuf body is malformed: ${e.message}; send the object again, or as JSON`));
    throw e;
  }
}

function unsupported(what: string): ApiError {
  return {
    code: 415,
    reason: 'UnsupportedMediaType',
    message: `The protobuf body holds ${what}, which this apiserver cannot decode from protobuf; send the object as JSON or YAML (for example with kubectl create -f)`,
  };
}
