// Environment variables of containers and where their values come from.
import { arr, bool, obj, quantity, str, type Schema } from '../../schema.js';
import { atomicList, core, coreRef, withDefault } from './names.js';

const atomic = (s: Schema): Schema => ({ ...s, 'x-kubernetes-map-type': 'atomic' });

export const envDefinitions: Record<string, Schema> = {
  [core('ObjectFieldSelector')]: atomic(
    obj(
      {
        apiVersion: withDefault(str('Version of the schema fieldPath is written in.'), 'v1'),
        fieldPath: str('Path of the pod field to read, e.g. metadata.name or status.podIP.'),
      },
      { required: ['fieldPath'], description: 'Selects one field of the pod.' },
    ),
  ),
  [core('ResourceFieldSelector')]: atomic(
    obj(
      {
        containerName: str('Container whose resources are read; required for volumes, optional for env vars.'),
        resource: str('Which request or limit: limits.cpu, limits.memory, requests.cpu, ...'),
        divisor: quantity('Unit the value is expressed in, e.g. 1Mi; defaults to 1.'),
      },
      { required: ['resource'], description: 'Selects a request or limit of a container.' },
    ),
  ),
  [core('ConfigMapKeySelector')]: atomic(
    obj(
      {
        name: str('Name of the ConfigMap.'),
        key: str('The key to read.'),
        optional: bool('If true, a missing ConfigMap or key is not an error.'),
      },
      { required: ['key'], description: 'Selects one key of a ConfigMap.' },
    ),
  ),
  [core('SecretKeySelector')]: atomic(
    obj(
      {
        name: str('Name of the Secret.'),
        key: str('The key to read.'),
        optional: bool('If true, a missing Secret or key is not an error.'),
      },
      { required: ['key'], description: 'Selects one key of a Secret.' },
    ),
  ),
  [core('FileKeySelector')]: atomic(
    obj(
      {
        volumeName: str('An emptyDir volume of the pod holding the file.'),
        path: str('Path of the env file inside that volume.'),
        key: str('The variable to read from the file.'),
        optional: bool('If true, a missing file or key is not an error.'),
      },
      { required: ['volumeName', 'path', 'key'], description: 'Selects one variable of an env file in a volume.' },
    ),
  ),
  [core('EnvVarSource')]: obj(
    {
      fieldRef: coreRef('ObjectFieldSelector', 'A field of the pod: metadata.name, metadata.namespace, metadata.labels[\'k\'], spec.nodeName, status.podIP, ...'),
      resourceFieldRef: coreRef('ResourceFieldSelector', 'A request or limit of a container.'),
      configMapKeyRef: coreRef('ConfigMapKeySelector', 'A key of a ConfigMap in the pod\'s namespace.'),
      secretKeyRef: coreRef('SecretKeySelector', 'A key of a Secret in the pod\'s namespace.'),
      fileKeyRef: coreRef('FileKeySelector', 'A variable of an env file in one of the pod\'s volumes.'),
    },
    { description: 'Where an environment variable\'s value comes from; exactly one field is set.' },
  ),
  [core('EnvVar')]: obj(
    {
      name: str('Name of the variable.'),
      value: str('The value; $(VAR) references to earlier variables are expanded, $$(VAR) escapes. Defaults to "".'),
      valueFrom: coreRef('EnvVarSource', 'Read the value from elsewhere; not allowed together with a non-empty value.'),
    },
    { required: ['name'], description: 'An environment variable of a container.' },
  ),
  [core('ConfigMapEnvSource')]: obj(
    { name: str('Name of the ConfigMap.'), optional: bool('If true, a missing ConfigMap is not an error.') },
    { description: 'Every key of a ConfigMap as environment variables.' },
  ),
  [core('SecretEnvSource')]: obj(
    { name: str('Name of the Secret.'), optional: bool('If true, a missing Secret is not an error.') },
    { description: 'Every key of a Secret as environment variables.' },
  ),
  [core('EnvFromSource')]: obj(
    {
      prefix: str('Prepended to each key to form the variable name.'),
      configMapRef: coreRef('ConfigMapEnvSource', 'The ConfigMap to read.'),
      secretRef: coreRef('SecretEnvSource', 'The Secret to read.'),
    },
    { description: 'A set of environment variables taken from a ConfigMap or Secret.' },
  ),
};

export const envList = (): Schema => arr(coreRef('EnvVar'), { mergeKey: 'name', description: 'Environment variables to set in the container.' });
export const envFromList = (): Schema =>
  atomicList(coreRef('EnvFromSource'), 'Environment variables imported from ConfigMaps or Secrets; explicit env entries win on conflicts.');
