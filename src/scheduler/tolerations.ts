// Whether a toleration tolerates a taint (core/v1 semantics): the effect
// matches (an empty effect matches all), the key matches (an empty key with
// Exists matches every key), and Exists, or Equal with the same value.
import type { Taint, Toleration } from '../apis/core/v1/types.js';

export function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  if (!t.key && t.operator !== 'Exists') return false;
  if (t.operator === 'Exists') return true;
  return (t.value ?? '') === (taint.value ?? '');
}

export function toleratedBy(tolerations: readonly Toleration[], taint: Taint): boolean {
  return tolerations.some((t) => tolerates(t, taint));
}

/** The first taint with one of `effects` that no toleration covers. */
export function firstUntolerated(taints: readonly Taint[], tolerations: readonly Toleration[], effects: readonly string[]): Taint | undefined {
  return taints.find((taint) => effects.includes(String(taint.effect)) && !toleratedBy(tolerations, taint));
}
