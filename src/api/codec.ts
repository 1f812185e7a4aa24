// How objects are stored: JSON with apiVersion, kind and metadata first and
// without metadata.resourceVersion, which is the store revision and is spliced
// in on the way out. Keeping the stored text canonical lets lists and watches
// answer without parsing every object.
import type { KubeObject } from '../apis/types.js';

/** Canonical key order: apiVersion, kind, metadata, spec, ...rest, status. */
export function canonical(obj: KubeObject): KubeObject {
  const { apiVersion, kind, metadata, spec, status, ...rest } = obj;
  const out: KubeObject = { apiVersion, kind, metadata };
  if (spec !== undefined) out.spec = spec;
  for (const [k, v] of Object.entries(rest)) if (v !== undefined) out[k] = v;
  if (status !== undefined) out.status = status;
  return out;
}

/** Serialize for the store (resourceVersion removed: the revision is the truth). */
export function encode(obj: KubeObject): string {
  const { resourceVersion: _rv, ...metadata } = obj.metadata;
  return JSON.stringify(canonical({ ...obj, metadata }));
}

export function decode(value: string, revision: number): KubeObject {
  const obj = JSON.parse(value) as KubeObject;
  obj.metadata.resourceVersion = String(revision);
  return obj;
}

const META = '"metadata":{';

/** The stored text with metadata.resourceVersion set, without parsing it. */
export function encodedWithRevision(value: string, revision: number): string {
  const i = value.indexOf(META);
  if (i < 0) return JSON.stringify(decode(value, revision));
  const at = i + META.length;
  const sep = value[at] === '}' ? '' : ',';
  return `${value.slice(0, at)}"resourceVersion":"${revision}"${sep}${value.slice(at)}`;
}
