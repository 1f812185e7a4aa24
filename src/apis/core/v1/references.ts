// References from one object to another.
import { obj, str, type Schema } from '../../schema.js';
import { core } from './names.js';

export const referenceDefinitions: Record<string, Schema> = {
  [core('ObjectReference')]: {
    ...obj(
      {
        kind: str('Kind of the referent.'),
        namespace: str('Namespace of the referent.'),
        name: str('Name of the referent.'),
        uid: str('UID of the referent.'),
        apiVersion: str('API version of the referent.'),
        resourceVersion: str('The referent\'s resourceVersion this reference was made at, if it matters.'),
        fieldPath: str('A part of the referent rather than all of it, e.g. "spec.containers{web}" for one container of a pod.'),
      },
      { description: 'Points at another object, or a part of it.' },
    ),
    'x-kubernetes-map-type': 'atomic',
  },
  [core('LocalObjectReference')]: {
    ...obj({ name: str('Name of the referent, in the same namespace.') }, { description: 'Names another object in the same namespace.' }),
    'x-kubernetes-map-type': 'atomic',
  },
  [core('TypedLocalObjectReference')]: {
    ...obj(
      {
        apiGroup: str('API group of the referent; empty for the core group.'),
        kind: str('Kind of the referent.'),
        name: str('Name of the referent.'),
      },
      { required: ['kind', 'name'], description: 'Names another object of a given kind in the same namespace.' },
    ),
    'x-kubernetes-map-type': 'atomic',
  },
  [core('TypedObjectReference')]: obj(
    {
      apiGroup: str('API group of the referent; empty for the core group.'),
      kind: str('Kind of the referent.'),
      name: str('Name of the referent.'),
      namespace: str('Namespace of the referent, when it differs from the referrer\'s.'),
    },
    { required: ['kind', 'name'], description: 'Names another object of a given kind, possibly in another namespace.' },
  ),
};
