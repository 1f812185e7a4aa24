// What Lodge knows about a kind: its names, scope, schema, table columns,
// selectable fields and semantic defaulting/validation. The API server is
// generic over these descriptors; adding a kind means adding one of them.
import type { Schema } from './schema.js';

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
  managedFields?: ManagedFieldsEntry[];
  [extra: string]: unknown;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ManagedFieldsEntry {
  manager?: string;
  operation?: 'Apply' | 'Update';
  apiVersion?: string;
  time?: string;
  fieldsType?: 'FieldsV1';
  fieldsV1?: Record<string, unknown>;
  subresource?: string;
}

/** Any Kubernetes-shaped object. Fields beyond metadata are kind-specific. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  [field: string]: unknown;
}

/** One problem with a field, as Kubernetes reports it in Status.details.causes. */
export interface FieldError {
  /** Dotted path, e.g. "spec.containers[0].image". */
  field: string;
  /** FieldValueRequired, FieldValueInvalid, FieldValueNotSupported, FieldValueDuplicate, FieldValueTooLong, FieldValueForbidden, FieldValueTypeInvalid */
  reason: string;
  message: string;
}

export type CellValue = string | number | boolean | null;

export interface Column {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  format?: string;
  description: string;
  /** 0 = always shown; 1 = only with -o wide. */
  priority: number;
  cell(obj: KubeObject, now: number): CellValue;
}

export interface ResourceType {
  group: string; // '' for core
  version: string;
  kind: string;
  plural: string;
  singular: string;
  shortNames?: string[];
  categories?: string[];
  namespaced: boolean;
  /** How metadata.name is validated: RFC 1123 subdomain (default), RFC 1123 label, or RFC 1035 label (Services). */
  nameFormat?: 'dns1123-subdomain' | 'dns1123-label' | 'dns1035-label';
  /** OpenAPI definition name of the object's schema, e.g. io.k8s.api.core.v1.Pod. */
  definition: string;
  /** Has a /status subresource: spec and status are written separately. */
  statusSubresource: boolean;
  /** Where the Table's Name column goes: first (default), or last and only with -o wide (Events, as kubectl shows them). */
  nameColumn?: 'first' | 'wide-last';
  /** Table columns after NAME (include AGE where it belongs). */
  columns: Column[];
  /** Field selectors beyond metadata.name and metadata.namespace. */
  selectableFields?: Record<string, (obj: KubeObject) => string | undefined>;
  /** A /scale subresource (autoscaling/v1 Scale), as Deployments and ReplicaSets have: where replicas live. */
  scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath?: string };
  /** Kubernetes kinds accept strategic merge patches; lodge.dev kinds answer 415 as CRDs do. */
  strategicMergePatch: boolean;
  /** Defaults the schema's `default` keywords cannot express. Mutates obj. */
  applyDefaults?(obj: KubeObject): void;
  /** Semantic validation beyond the schema. `old` is set on update. */
  validate?(obj: KubeObject, old?: KubeObject): FieldError[];
  /** Called on update before admission, e.g. to carry server-allocated fields (a Service's clusterIP) that the new object left empty. */
  prepareForUpdate?(obj: KubeObject, old: KubeObject): void;
  /** What deleting this kind involves beyond finalizers and propagation. */
  deletion?: DeletionBehaviour;
  /** Called once on create, e.g. to set an initial status (Pod phase Pending). */
  prepareForCreate?(obj: KubeObject): void;
  /** Kind-specific `kubectl describe` lines (beyond metadata), used by `lodge describe`. */
  describe?(obj: KubeObject): string[];
}

export interface DeletionBehaviour {
  /** Finalizers beyond metadata.finalizers that hold the object (a Namespace's spec.finalizers). */
  pendingFinalizers?(obj: KubeObject): string[];
  /** A change made when deletion starts (a Namespace turns Terminating). */
  onStart?(obj: KubeObject): void;
  /** Names that may never be deleted (the system namespaces). */
  protectedNames?: string[];
  /** Why, in the 403 (default "this KIND may not be deleted"). */
  protectedReason?: string;
  /** The node whose agent must stop the object before it goes (a bound Pod), and its default grace period. */
  stoppedByNode?(obj: KubeObject): { node: string; graceSeconds: number } | undefined;
  /**
   * Who still needs the object, as "pod default/web" (an Image that Pods
   * run from): deleting it is refused with 409 Conflict while any do.
   */
  inUseBy?(obj: KubeObject, lookup: ObjectLookup): Promise<string[]>;
}

/** Read access to the stored objects of other kinds, for deletion checks. */
export interface ObjectLookup {
  /** Every object of the kind (all namespaces); none when the kind is not served. */
  list(group: string, version: string, plural: string): Promise<KubeObject[]>;
}

export function apiVersionOf(rt: Pick<ResourceType, 'group' | 'version'>): string {
  return rt.group ? `${rt.group}/${rt.version}` : rt.version;
}
