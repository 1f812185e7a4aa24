// JSON merge patch, RFC 7386 (application/merge-patch+json): objects merge
// key by key, null removes a key, anything else (arrays included) replaces.
import { cloneJson, getOwn, isObject, setOwn, type JsonObject } from './json.js';

/** The patched document. Neither argument is modified; the result shares nothing with them. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return cloneJson(patch);
  // One copy of the target up front, then merge into it in place.
  const base = isObject(target) ? cloneJson(target) : {};
  mergeInto(base, patch);
  return base;
}

/**
 * Merge `patch` into `target` (mutated). Values taken from the patch are
 * copied so the caller can keep using the patch. Exported for the strategic
 * merge patch, which merges untyped (preserve-unknown-fields) parts this way.
 */
export function mergeInto(target: JsonObject, patch: JsonObject): JsonObject {
  for (const key of Object.keys(patch)) {
    const value = patch[key];
    if (value === null) {
      delete target[key];
    } else if (isObject(value)) {
      const current = getOwn(target, key);
      // RFC 7386: a non-object target is replaced by {} before merging, which
      // also drops nulls nested in the patch value.
      setOwn(target, key, mergeInto(isObject(current) ? current : {}, value));
    } else {
      setOwn(target, key, cloneJson(value));
    }
  }
  return target;
}
