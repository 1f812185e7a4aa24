// The pod-template-hash: names a Deployment's ReplicaSet after its template,
// so one template maps to one ReplicaSet. As Kubernetes: a 32-bit FNV-1a of
// the template (here its canonical JSON) and the collision count, written in
// the consonant-and-digit alphabet that cannot spell words. The value differs
// from Kubernetes' (which hashes Go's printing of the struct); only its
// stability matters.
import type { PodTemplateSpec } from '../../apis/core/v1/types.js';

export const HASH_LABEL = 'pod-template-hash';
const ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** JSON with object keys sorted: equal templates hash equal whatever order their fields came in. */
function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o).filter((k) => o[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
}

function fnv32a(text: string, seed = 0x811c9dc5): number {
  let h = seed;
  for (const byte of Buffer.from(text, 'utf8')) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

export function podTemplateHash(template: PodTemplateSpec | undefined, collisionCount?: number): string {
  let text = canonicalJson(template ?? {});
  // Kubernetes feeds the collision count into the hash only when set, so a first ReplicaSet's name does not depend on it.
  if (collisionCount !== undefined) text += `#${collisionCount}`;
  return [...String(fnv32a(text))].map((c) => ALPHABET[c.charCodeAt(0) % ALPHABET.length]).join('');
}

/** The template without the hash label: what a Deployment's template is compared with. */
export function withoutHash(template: PodTemplateSpec | undefined): PodTemplateSpec {
  const t = structuredClone(template ?? {});
  if (t.metadata?.labels) {
    delete t.metadata.labels[HASH_LABEL];
    if (!Object.keys(t.metadata.labels).length) delete t.metadata.labels;
  }
  return t;
}
