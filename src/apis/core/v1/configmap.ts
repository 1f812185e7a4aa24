// ConfigMap: non-secret configuration as key/value pairs.
import { ageColumn, column } from '../../columns.js';
import { bool, mapOf, stringMap, type Schema } from '../../schema.js';
import type { FieldError, KubeObject, ResourceType } from '../../types.js';
import { kindDefinition } from '../../meta/v1.js';
import { base64Size, isBase64, validateDataMaps, validateImmutableUpdate } from './config-data.js';
import { invalid } from './field-errors.js';
import { core, coreGVK } from './names.js';

type ConfigMap = KubeObject & {
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
  immutable?: boolean;
};

export const configMapDefinitions: Record<string, Schema> = {
  [core('ConfigMap')]: kindDefinition(coreGVK('ConfigMap'), 'Configuration data for pods to read as files, environment variables or arguments.', {
    data: stringMap('UTF-8 values by key; keys are letters, digits, \'-\', \'_\' and \'.\'.'),
    binaryData: mapOf({ type: 'string', format: 'byte' }, 'Binary values, base64-encoded, by key; keys may not repeat those of data.'),
    immutable: bool('If true, data cannot change any more (and the flag cannot be unset).'),
  }),
};

const asCm = (o: KubeObject): ConfigMap => o as ConfigMap;

function validateConfigMap(cm: ConfigMap, old?: ConfigMap): FieldError[] {
  const errs = validateDataMaps([
    ['data', cm.data, (v) => Buffer.byteLength(v)],
    ['binaryData', cm.binaryData, base64Size],
  ]);
  for (const [k, v] of Object.entries(cm.binaryData ?? {}))
    if (typeof v === 'string' && !isBase64(v)) errs.push(invalid(`binaryData[${k}]`, '<binary>', 'must be base64-encoded'));
  if (old)
    errs.push(
      ...validateImmutableUpdate(
        { immutable: cm.immutable, fields: { data: cm.data, binaryData: cm.binaryData } },
        { immutable: old.immutable, fields: { data: old.data, binaryData: old.binaryData } },
      ),
    );
  return errs;
}

export const configMap: ResourceType = {
  group: '',
  version: 'v1',
  kind: 'ConfigMap',
  plural: 'configmaps',
  singular: 'configmap',
  shortNames: ['cm'],
  namespaced: true,
  definition: core('ConfigMap'),
  statusSubresource: false,
  strategicMergePatch: true,
  columns: [
    column('Data', 'Number of keys.', (o) => Object.keys(asCm(o).data ?? {}).length + Object.keys(asCm(o).binaryData ?? {}).length, { type: 'integer' }),
    ageColumn,
  ],
  validate(o, old) {
    return validateConfigMap(asCm(o), old && asCm(old));
  },
  describe(o) {
    const cm = asCm(o);
    const lines = ['Data', '===='];
    for (const [k, v] of Object.entries(cm.data ?? {})) lines.push(`${k}:`, '----', v, '');
    const binary = Object.entries(cm.binaryData ?? {});
    if (binary.length) {
      lines.push('BinaryData', '====');
      for (const [k, v] of binary) lines.push(`${k}: ${base64Size(v)} bytes`);
    }
    return lines;
  },
};
