// The shape of the field-number tables (fields-*.ts) and the index the
// decoder looks messages up in, by OpenAPI definition name.
import { appsV1, coordinationV1 } from './fields-apps.js';
import { batchV1 } from './fields-batch.js';
import { coreV1 } from './fields-core.js';
import { metaV1 } from './fields-meta.js';
import { policyV1 } from './fields-policy.js';
import { schedulingV1 } from './fields-scheduling.js';

/** Messages whose JSON is not an object of their fields. */
export type OpaqueKind = 'FieldsV1' | 'RawExtension';

/** The protobuf facts of one API group version's messages. */
export interface PackageTables {
  /** OpenAPI name prefix of the package, e.g. 'io.k8s.api.core.v1'. */
  prefix: string;
  /**
   * Message → JSON field name → protobuf field number. A key '...Name' says
   * the field with that number is an embedded Go struct (message Name of the
   * same package) whose fields JSON shows inline in this object, as
   * Volume's VolumeSource or SecretKeySelector's LocalObjectReference.
   */
  fields: Record<string, Record<string, number>>;
  /**
   * Message → fields whose zero value ("", 0, false) Kubernetes' JSON keeps:
   * Go pointers (on the wire only when set, so a zero there was sent on
   * purpose: replicas: 0) and fields without omitempty. Other scalars are
   * written by Go's protobuf encoder even when zero; their JSON omits them.
   */
  keepZero: Record<string, string[]>;
  /** Message → date-time fields that are metav1.MicroTime (microseconds in JSON), not metav1.Time. */
  microTime?: Record<string, string[]>;
  /** Message → fields holding a FieldsV1 or RawExtension (raw JSON bytes). */
  opaque?: Record<string, Record<string, OpaqueKind>>;
}

export type FieldSlot = { json: string } | { embedded: string };

export interface MessageInfo {
  /** OpenAPI definition name. */
  name: string;
  byNumber: Map<number, FieldSlot>;
  keepZero: Set<string>;
  microTime: Set<string>;
  opaque: Map<string, OpaqueKind>;
}

export const PACKAGES: PackageTables[] = [metaV1, coreV1, appsV1, batchV1, coordinationV1, policyV1, schedulingV1];

let index: Map<string, MessageInfo> | undefined;

function build(): Map<string, MessageInfo> {
  const out = new Map<string, MessageInfo>();
  for (const p of PACKAGES) {
    for (const [msg, table] of Object.entries(p.fields)) {
      const name = `${p.prefix}.${msg}`;
      const byNumber = new Map<number, FieldSlot>();
      for (const [key, num] of Object.entries(table)) {
        // A duplicate number is a typo in a table; fail loudly at first use rather than decode garbage.
        if (byNumber.has(num)) throw new Error(`protobuf table ${name}: field number ${num} used twice`);
        byNumber.set(num, key.startsWith('...') ? { embedded: `${p.prefix}.${key.slice(3)}` } : { json: key });
      }
      out.set(name, {
        name,
        byNumber,
        keepZero: new Set(p.keepZero[msg] ?? []),
        microTime: new Set(p.microTime?.[msg] ?? []),
        opaque: new Map(Object.entries(p.opaque?.[msg] ?? {})),
      });
    }
  }
  return out;
}

/** The field numbers of a message by its OpenAPI definition name. */
export function messageInfo(definition: string): MessageInfo | undefined {
  index ??= build();
  return index.get(definition);
}

/** Every definition the tables cover. */
export function coveredDefinitions(): string[] {
  index ??= build();
  return [...index.keys()];
}
