// Secret: sensitive data (passwords, keys, tokens), base64-encoded.
import { ageColumn, column } from '../../columns.js';
import { bool, mapOf, str, stringMap, type Schema } from '../../schema.js';
import type { FieldError, KubeObject, ResourceType } from '../../types.js';
import { kindDefinition } from '../../meta/v1.js';
import { base64Size, isBase64, validateDataMaps, validateImmutableUpdate } from './config-data.js';
import { immutable, invalid, required } from './field-errors.js';
import { core, coreGVK, withDefault } from './names.js';

type Secret = KubeObject & {
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  type?: string;
  immutable?: boolean;
};

export const secretDefinitions: Record<string, Schema> = {
  [core('Secret')]: kindDefinition(coreGVK('Secret'), 'A small amount of sensitive data, such as a password, key or token.', {
    data: mapOf({ type: 'string', format: 'byte' }, 'Values by key, base64-encoded; keys are letters, digits, \'-\', \'_\' and \'.\'.'),
    stringData: stringMap('Write-only convenience: plain-text values merged into data (base64-encoded) on write; never returned.'),
    type: withDefault(str('What the secret holds, e.g. Opaque, kubernetes.io/tls, kubernetes.io/dockerconfigjson; cannot change.'), 'Opaque'),
    immutable: bool('If true, data cannot change any more (and the flag cannot be unset).'),
  }),
};

const asSecret = (o: KubeObject): Secret => o as Secret;

/** Keys each well-known secret type must carry. */
const REQUIRED_KEYS: Record<string, string[][]> = {
  'kubernetes.io/dockercfg': [['.dockercfg']],
  'kubernetes.io/dockerconfigjson': [['.dockerconfigjson']],
  'kubernetes.io/ssh-auth': [['ssh-privatekey']],
  'kubernetes.io/tls': [['tls.crt'], ['tls.key']],
  // At least one of these.
  'kubernetes.io/basic-auth': [['username', 'password']],
};

const JSON_KEYS: Record<string, string> = {
  'kubernetes.io/dockercfg': '.dockercfg',
  'kubernetes.io/dockerconfigjson': '.dockerconfigjson',
};

function validateType(s: Secret): FieldError[] {
  const errs: FieldError[] = [];
  const data = s.data ?? {};
  const type = s.type ?? 'Opaque';
  for (const anyOf of REQUIRED_KEYS[type] ?? []) {
    if (!anyOf.some((k) => data[k] !== undefined)) errs.push(required(`data[${anyOf[0]}]`));
  }
  const jsonKey = JSON_KEYS[type];
  if (jsonKey && data[jsonKey] !== undefined) {
    try {
      JSON.parse(Buffer.from(data[jsonKey], 'base64').toString('utf8'));
    } catch {
      errs.push(invalid(`data[${jsonKey}]`, '<secret contents redacted>', 'must be valid JSON'));
    }
  }
  if (type === 'kubernetes.io/service-account-token' && !s.metadata.annotations?.['kubernetes.io/service-account.name'])
    errs.push(required('metadata.annotations[kubernetes.io/service-account.name]'));
  return errs;
}

function validateSecret(s: Secret, old?: Secret): FieldError[] {
  const errs = validateDataMaps([['data', s.data, base64Size]]);
  for (const [k, v] of Object.entries(s.data ?? {}))
    if (typeof v === 'string' && !isBase64(v)) errs.push(invalid(`data[${k}]`, '<secret contents redacted>', 'must be base64-encoded'));
  errs.push(...validateType(s));
  if (old) {
    if ((s.type ?? 'Opaque') !== (old.type ?? 'Opaque')) errs.push(immutable('type', s.type ?? ''));
    errs.push(...validateImmutableUpdate({ immutable: s.immutable, fields: { data: s.data } }, { immutable: old.immutable, fields: { data: old.data } }));
  }
  return errs;
}

export const secret: ResourceType = {
  group: '',
  version: 'v1',
  kind: 'Secret',
  plural: 'secrets',
  singular: 'secret',
  namespaced: true,
  definition: core('Secret'),
  statusSubresource: false,
  strategicMergePatch: true,
  columns: [
    column('Type', 'What the secret holds.', (o) => asSecret(o).type ?? 'Opaque'),
    column('Data', 'Number of keys.', (o) => Object.keys(asSecret(o).data ?? {}).length, { type: 'integer' }),
    ageColumn,
  ],
  selectableFields: {
    type: (o) => asSecret(o).type ?? 'Opaque',
  },
  applyDefaults(o) {
    // Like Kubernetes, stringData is folded into data on write and not kept.
    const s = asSecret(o);
    s.type ??= 'Opaque';
    if (s.stringData) {
      s.data ??= {};
      for (const [k, v] of Object.entries(s.stringData)) s.data[k] = Buffer.from(String(v), 'utf8').toString('base64');
      delete s.stringData;
    }
  },
  validate(o, old) {
    return validateSecret(asSecret(o), old && asSecret(old));
  },
  describe(o) {
    const s = asSecret(o);
    const lines = [`Type:  ${s.type ?? 'Opaque'}`, '', 'Data', '===='];
    for (const [k, v] of Object.entries(s.data ?? {})) lines.push(`${k}:  ${base64Size(v)} bytes`);
    return lines;
  },
};
