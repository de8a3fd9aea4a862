/**
 * negotiate: what a response may be, from the request's Accept header. kubectl lists its
 * preferences in order (protobuf, Table, aggregated discovery, plain JSON); the first form this
 * server produces wins, so protobuf falls through to JSON.
 */

/** MediaRange is one entry of an Accept header: type/subtype with parameters. */
export interface MediaRange {
  readonly type: string;
  readonly params: ReadonlyMap<string, string>;
  readonly q: number;
}

/** parseAccept splits an Accept header into media ranges, most preferred first (stable by q). */
export function parseAccept(header: string | undefined): MediaRange[] {
  if (header === undefined || header.trim() === '') return [{ type: '*/*', params: new Map(), q: 1 }];
  const ranges: MediaRange[] = [];
  for (const part of header.split(',')) {
    const [typePart, ...paramParts] = part.split(';');
    const type = (typePart ?? '').trim().toLowerCase();
    if (type === '') continue;
    const params = new Map<string, string>();
    let q = 1;
    for (const p of paramParts) {
      const eq = p.indexOf('=');
      if (eq < 0) continue;
      const key = p.slice(0, eq).trim().toLowerCase();
      const value = p.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
      if (key === 'q') q = Number.isFinite(Number(value)) ? Number(value) : 0;
      else params.set(key, value);
    }
    if (q > 0) ranges.push({ type, params, q });
  }
  // Array.prototype.sort is stable, so equal q keeps the client's order.
  return ranges.sort((a, b) => b.q - a.q);
}

/** IncludeObject is the Table's includeObject policy: what each row carries besides cells. */
export type IncludeObject = 'None' | 'Metadata' | 'Object';

/** OutputForm is how a response is rendered. */
export type OutputForm =
  | { readonly kind: 'json' }
  | { readonly kind: 'yaml' }
  | { readonly kind: 'table'; readonly apiVersion: 'meta.k8s.io/v1' | 'meta.k8s.io/v1beta1' }
  | { readonly kind: 'discovery-v2' }
  | { readonly kind: 'partial'; readonly apiVersion: 'meta.k8s.io/v1' | 'meta.k8s.io/v1beta1' };

/** Offer says which special forms the endpoint can produce besides JSON and YAML. */
export interface Offer {
  readonly table?: boolean;
  readonly aggregatedDiscovery?: boolean;
  readonly yaml?: boolean;
  /** partial is the PartialObjectMetadata form the endpoint can answer: one object or a list. */
  readonly partial?: 'PartialObjectMetadata' | 'PartialObjectMetadataList';
}

function isJsonType(type: string): boolean {
  return type === 'application/json' || type === 'application/*' || type === '*/*';
}

/** chooseOutput picks the response form, or undefined when nothing acceptable is offered (406). */
export function chooseOutput(ranges: readonly MediaRange[], offer: Offer): OutputForm | undefined {
  for (const r of ranges) {
    const as = r.params.get('as');
    const g = r.params.get('g');
    const v = r.params.get('v');
    if (as !== undefined) {
      if (!isJsonType(r.type)) continue;
      if (as === 'Table' && g === 'meta.k8s.io' && offer.table === true && (v === 'v1' || v === 'v1beta1')) {
        return { kind: 'table', apiVersion: v === 'v1' ? 'meta.k8s.io/v1' : 'meta.k8s.io/v1beta1' };
      }
      if (as === offer.partial && g === 'meta.k8s.io' && (v === 'v1' || v === 'v1beta1')) {
        return { kind: 'partial', apiVersion: v === 'v1' ? 'meta.k8s.io/v1' : 'meta.k8s.io/v1beta1' };
      }
      if (as === 'APIGroupDiscoveryList' && g === 'apidiscovery.k8s.io' && v === 'v2' && offer.aggregatedDiscovery === true) {
        return { kind: 'discovery-v2' };
      }
      continue;
    }
    if (isJsonType(r.type)) return { kind: 'json' };
    if ((r.type === 'application/yaml' || r.type === 'text/yaml') && offer.yaml !== false) return { kind: 'yaml' };
  }
  return undefined;
}
