// Definition names and schema shorthands shared by the core/v1 files.
import { ref, type Schema } from '../../schema.js';

export const CORE = 'io.k8s.api.core.v1';

/** Full OpenAPI name of a core/v1 definition: 'Pod' → 'io.k8s.api.core.v1.Pod'. */
export const core = (name: string): string => `${CORE}.${name}`;

/** $ref to a core/v1 definition. */
export const coreRef = (name: string, description?: string): Schema => ref(core(name), description);

export const coreGVK = (kind: string): { group: string; version: string; kind: string } => ({ group: '', version: 'v1', kind });

/**
 * A list whose items are identified by keys for server-side apply but which
 * strategic merge patch replaces as a whole (Kubernetes declares some lists
 * this way, e.g. resources.claims).
 */
export function keyedList(items: Schema, keys: string[], description?: string): Schema {
  return { type: 'array', items, description, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': keys };
}

/** A list replaced as a whole by every kind of patch. */
export function atomicList(items: Schema, description?: string): Schema {
  return { type: 'array', items, description, 'x-kubernetes-list-type': 'atomic' };
}

/** Give a schema a default value. */
export const withDefault = (s: Schema, value: unknown): Schema => ({ ...s, default: value });
