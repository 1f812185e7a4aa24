// ControllerRevision: an immutable snapshot of a controller's state at one
// revision. DaemonSets keep their pod templates in them, which is what
// `kubectl rollout history` and `undo` read for a DaemonSet.
import { ageColumn, column } from '../../columns.js';
import { freeform, int64 } from '../../schema.js';
import type { FieldError, KubeObject, ResourceType } from '../../types.js';
import { immutable, nonNegative, required } from '../../core/v1/field-errors.js';
import { jsonEqual } from '../../core/v1/equality.js';
import { kindDefinition } from '../../meta/v1.js';
import { apps, appsGVK } from './workload.js';
import type { Schema } from '../../schema.js';

export type ControllerRevision = KubeObject & { data?: unknown; revision?: number };

export const controllerRevisionDefinitions: Record<string, Schema> = {
  [apps('ControllerRevision')]: kindDefinition(
    appsGVK('ControllerRevision'),
    'An immutable snapshot of the state a controller rolls out; its owner decides what data holds (a DaemonSet: a patch that sets its pod template).',
    {
      data: freeform('The serialized state of this revision (any JSON object).'),
      revision: int64('The number of this revision: the order the owner rolled them out in.'),
    },
    { required: ['revision'] },
  ),
};

const asRevision = (o: KubeObject): ControllerRevision => o as ControllerRevision;

function validateRevision(r: ControllerRevision, old?: ControllerRevision): FieldError[] {
  const errs = nonNegative('revision', r.revision);
  if (r.data === undefined || r.data === null) errs.push(required('data'));
  // Kubernetes lets the revision number move (a template rolled back to becomes the newest) but never the data.
  if (old && !jsonEqual(r.data, old.data)) errs.push(immutable('data', r.data));
  return errs;
}

export const controllerRevision: ResourceType = {
  group: 'apps',
  version: 'v1',
  kind: 'ControllerRevision',
  plural: 'controllerrevisions',
  singular: 'controllerrevision',
  namespaced: true,
  definition: apps('ControllerRevision'),
  statusSubresource: false,
  strategicMergePatch: true,
  columns: [
    column('Controller', 'The controller this revision belongs to, as KIND.GROUP/NAME.', (o) => {
      const ref = o.metadata.ownerReferences?.find((r) => r.controller === true);
      if (!ref) return '<none>';
      const group = (ref.apiVersion ?? '').includes('/') ? `.${ref.apiVersion.split('/')[0]}` : '';
      return `${ref.kind.toLowerCase()}${group}/${ref.name}`;
    }),
    column('Revision', 'The revision number.', (o) => asRevision(o).revision ?? 0, { type: 'integer' }),
    ageColumn,
  ],
  validate(o, old) {
    return validateRevision(asRevision(o), old && asRevision(old));
  },
  describe(o) {
    return [`Revision:  ${asRevision(o).revision ?? 0}`, `Data:      ${JSON.stringify(asRevision(o).data ?? null)}`];
  },
};
