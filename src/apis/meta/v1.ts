// apimachinery's meta/v1 types shared by every kind.
import { arr, bool, freeform, int64, obj, ref, str, stringMap, time, enumOf, type Schema } from '../schema.js';

export const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
export const OBJECT_META = `${META}.ObjectMeta`;
export const LIST_META = `${META}.ListMeta`;
export const LABEL_SELECTOR = `${META}.LabelSelector`;
export const CONDITION = `${META}.Condition`;
export const TIME = `${META}.Time`;

export const metaDefinitions: Record<string, Schema> = {
  [`${META}.OwnerReference`]: obj(
    {
      apiVersion: str('API version of the referent.'),
      kind: str('Kind of the referent.'),
      name: str('Name of the referent.'),
      uid: str('UID of the referent.'),
      controller: bool('If true, this reference points to the managing controller.'),
      blockOwnerDeletion: bool('If true, the owner cannot be deleted from the key-value store until this reference is removed (foreground deletion).'),
    },
    { description: 'OwnerReference contains enough information to let you identify an owning object.', required: ['apiVersion', 'kind', 'name', 'uid'] },
  ),
  [`${META}.ManagedFieldsEntry`]: obj(
    {
      manager: str('Name of the workflow managing these fields.'),
      operation: enumOf(['Apply', 'Update'], 'The type of operation which lead to this entry.'),
      apiVersion: str('Version of the resource this field set applies to.'),
      time: time('When the entry was last changed.'),
      fieldsType: str('The format of fieldsV1; only "FieldsV1".'),
      fieldsV1: freeform('The set of fields managed, in FieldsV1 format.'),
      subresource: str('Name of the subresource used to update the object, empty for the main resource.'),
    },
    { description: 'ManagedFieldsEntry records the workflow and version that owns a set of fields.' },
  ),
  [OBJECT_META]: obj(
    {
      name: str('Name must be unique within a namespace. Cannot be updated.'),
      generateName: str('Prefix used by the server to generate a unique name when name is not given.'),
      namespace: str('Namespace defines the space within which each name must be unique.'),
      selfLink: str('Deprecated; not set by the server.'),
      uid: str('UID is the unique in time and space value for this object, set by the server.'),
      resourceVersion: str('An opaque value that represents the internal version of this object, used for optimistic concurrency and watches.'),
      generation: int64('A sequence number representing a specific generation of the desired state; bumped on spec changes.'),
      creationTimestamp: time('When this object was created, set by the server.'),
      deletionTimestamp: time('When this object will be deleted; set by the server when a graceful deletion is requested.'),
      deletionGracePeriodSeconds: int64('Seconds allowed for this object to terminate gracefully.'),
      labels: stringMap('Map of string keys and values used to organize and select objects.'),
      annotations: stringMap('Unstructured key value map for arbitrary metadata.'),
      ownerReferences: arr(ref(`${META}.OwnerReference`), { mergeKey: 'uid', description: 'Objects this object depends on; when all owners are deleted, this object is garbage collected.' }),
      finalizers: arr(str(), { listType: 'set', patchStrategy: 'merge', description: 'Must be empty before the object is deleted from the store.' }),
      managedFields: arr(ref(`${META}.ManagedFieldsEntry`), { description: 'Which workflow manages which fields (server-side apply).' }),
    },
    { description: 'ObjectMeta is metadata that all persisted resources must have.' },
  ),
  [LIST_META]: obj(
    {
      resourceVersion: str('The version of the list, for watches.'),
      continue: str('Set when more items are available; pass back to get the next page.'),
      remainingItemCount: int64('How many items remain after this page.'),
      selfLink: str('Deprecated.'),
    },
    { description: 'ListMeta describes metadata that synthetic resources must have.' },
  ),
  [`${META}.LabelSelectorRequirement`]: obj(
    {
      key: str('The label key that the selector applies to.'),
      operator: enumOf(['In', 'NotIn', 'Exists', 'DoesNotExist'], "A key's relationship to a set of values."),
      values: arr(str(), { description: 'Values for In and NotIn; empty for Exists and DoesNotExist.' }),
    },
    { required: ['key', 'operator'], description: 'A selector requirement.' },
  ),
  [LABEL_SELECTOR]: obj(
    {
      matchLabels: stringMap('{key,value} pairs, each equivalent to an In requirement with one value.'),
      matchExpressions: arr(ref(`${META}.LabelSelectorRequirement`), { description: 'A list of label selector requirements, ANDed.' }),
    },
    { description: 'A label query over a set of resources.', },
  ),
  [CONDITION]: obj(
    {
      type: str('Type of condition in CamelCase.'),
      status: enumOf(['True', 'False', 'Unknown'], 'Status of the condition.'),
      observedGeneration: int64('The .metadata.generation that the condition was set based upon.'),
      lastTransitionTime: time('Last time the condition transitioned from one status to another.'),
      reason: str("A programmatic identifier for the condition's last transition."),
      message: str('A human readable message about the transition.'),
    },
    { required: ['type', 'status'], description: 'Details for one aspect of the current state.' },
  ),
};

export const objectMeta = (): Schema => ref(OBJECT_META, 'Standard object metadata.');
export const labelSelector = (description = 'A label query over a set of resources.'): Schema => ref(LABEL_SELECTOR, description);

/** status.conditions as every kind reports them: merged by type. */
export const conditionList = (description = 'Latest observations of the object\'s state, one per condition type.'): Schema =>
  arr(ref(CONDITION), { mergeKey: 'type', description });

/**
 * The top-level schema of a kind: apiVersion, kind, metadata plus its own
 * fields (spec, status, data...), tagged with its group/version/kind so
 * `kubectl explain` can find it.
 */
export function kindDefinition(
  gvk: { group: string; version: string; kind: string },
  description: string,
  fields: Record<string, Schema>,
  o: { required?: string[] } = {},
): Schema {
  const s = obj(
    {
      apiVersion: str('Versioned schema of this representation of the object; the server rejects other values.'),
      kind: str('The REST resource this object represents, in CamelCase.'),
      metadata: objectMeta(),
      ...fields,
    },
    { description, required: o.required },
  );
  s['x-kubernetes-group-version-kind'] = [gvk];
  return s;
}
