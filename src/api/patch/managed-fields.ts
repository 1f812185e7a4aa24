// metadata.managedFields in and out: decoding entries to field sets, the
// identity Kubernetes keys managers by, the fields no manager ever owns, and
// writing entries back in Kubernetes' order.
import type { ManagedFieldsEntry } from '../../apis/types.js';
import { FieldSet } from './fieldset.js';
import { isObject } from './json.js';
import { fieldPaths } from './ssa-fieldset.js';

export type Operation = 'Apply' | 'Update';

export interface Manager {
  manager: string;
  operation: Operation;
  apiVersion: string;
  subresource?: string;
  time?: string;
  set: FieldSet;
}

/**
 * Managers are told apart by name, operation and subresource, and for
 * updates also by API version (an applier keeps one entry across versions).
 */
export function identity(m: Pick<Manager, 'manager' | 'operation' | 'apiVersion' | 'subresource'>): string {
  return JSON.stringify([m.manager, m.operation, m.subresource ?? '', m.operation === 'Update' ? m.apiVersion : '']);
}

/** How Kubernetes names a manager in conflict messages: `"kubectl" using apps/v1`. */
export function describeManager(m: Pick<Manager, 'manager' | 'operation' | 'apiVersion' | 'subresource'>): string {
  let s = JSON.stringify(m.manager);
  if (m.subresource) s += ` with subresource ${JSON.stringify(m.subresource)}`;
  if (m.operation === 'Update') s += ` using ${m.apiVersion}`;
  return s;
}

/**
 * Fields set by the server or identifying the object: never owned. `metadata`
 * itself is listed so that no manager owns the whole of it.
 */
export const NEVER_OWNED: FieldSet = fieldPaths([
  ['apiVersion'],
  ['kind'],
  ['metadata'],
  ['metadata', 'name'],
  ['metadata', 'namespace'],
  ['metadata', 'uid'],
  ['metadata', 'resourceVersion'],
  ['metadata', 'generation'],
  ['metadata', 'creationTimestamp'],
  ['metadata', 'deletionTimestamp'],
  ['metadata', 'deletionGracePeriodSeconds'],
  ['metadata', 'selfLink'],
  ['metadata', 'managedFields'],
]);

/** Compared as a whole by nobody: skipped when diffing objects. */
export const NOT_COMPARED: FieldSet = fieldPaths([['metadata', 'managedFields']]);

/** Decode entries; malformed ones are dropped, duplicates of one identity merged. */
export function decodeManagedFields(entries: unknown): Manager[] {
  if (!Array.isArray(entries)) return [];
  const byId = new Map<string, Manager>();
  for (const e of entries) {
    if (!isObject(e) || typeof e.manager !== 'string') continue;
    if (e.operation !== 'Apply' && e.operation !== 'Update') continue;
    if (e.fieldsType !== undefined && e.fieldsType !== 'FieldsV1') continue;
    const m: Manager = {
      manager: e.manager,
      operation: e.operation,
      apiVersion: typeof e.apiVersion === 'string' ? e.apiVersion : '',
      subresource: typeof e.subresource === 'string' && e.subresource ? e.subresource : undefined,
      time: typeof e.time === 'string' ? e.time : undefined,
      // Decoded as far as used: most of a stored set is written back as it was.
      set: FieldSet.lazyFromFieldsV1(e.fieldsV1),
    };
    const id = identity(m);
    const prev = byId.get(id);
    if (prev) prev.set = prev.set.union(m.set);
    else byId.set(id, m);
  }
  return [...byId.values()];
}

/**
 * Which managedFields a write starts from, as Kubernetes decides: a request
 * that sends only empty entries ([{}]) resets them; a request that sends
 * entries replaces them; otherwise (none sent, or []) the stored ones stay.
 */
export function startingManagers(requested: unknown, stored: unknown): Manager[] {
  if (Array.isArray(requested) && requested.length > 0) {
    if (requested.every((e) => isObject(e) && Object.keys(e).length === 0)) return [];
    const decoded = decodeManagedFields(requested);
    if (decoded.length > 0) return decoded;
  }
  return decodeManagedFields(stored);
}

/** Entries as stored: empty sets dropped, Apply before Update, then by time, name, version, subresource. */
export function encodeManagedFields(managers: Manager[]): ManagedFieldsEntry[] {
  const kept = managers.filter((m) => !m.set.isEmpty());
  kept.sort(
    (a, b) =>
      cmp(a.operation, b.operation) || cmp(a.time ?? '', b.time ?? '') || cmp(a.manager, b.manager) || cmp(a.apiVersion, b.apiVersion) || cmp(a.subresource ?? '', b.subresource ?? ''),
  );
  return kept.map((m) => encodeEntry(m, m.set.toFieldsV1()));
}

/** One entry as stored, its fields already encoded (keys in Kubernetes' order). */
export function encodeEntry(m: Omit<Manager, 'set'>, fieldsV1: Record<string, unknown>): ManagedFieldsEntry {
  const e: ManagedFieldsEntry = { manager: m.manager, operation: m.operation, apiVersion: m.apiVersion };
  if (m.time) e.time = m.time;
  e.fieldsType = 'FieldsV1';
  e.fieldsV1 = fieldsV1;
  if (m.subresource) e.subresource = m.subresource;
  return e;
}

/** RFC 3339 with second precision in UTC, as Kubernetes writes metav1.Time. */
export function formatTime(now: string | Date | number): string {
  if (typeof now === 'string') return now;
  return new Date(Math.floor(new Date(now).getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
