// Validates, defaults and prunes objects against the kinds' OpenAPI schemas
// with Ajv. Our Schema dialect (x-kubernetes-* extensions, int-or-string,
// $ref by definition name) is translated once into Ajv's JSON Schema.
import AjvModule, { type ErrorObject, type ValidateFunction } from 'ajv';
import type { Registry } from '../../apis/registry.js';
import type { Schema } from '../../apis/schema.js';
import type { FieldError, ResourceType } from '../../apis/types.js';

// ajv's CJS default export under NodeNext resolution.
const Ajv = AjvModule.default ?? (AjvModule as unknown as typeof AjvModule.default);
type AjvInstance = InstanceType<typeof Ajv>;

const BASE = 'https://lodge.dev/schemas/';

type JsonSchema = Record<string, unknown>;

function translate(s: Schema): JsonSchema {
  // Defaults beside a $ref or on an int-or-string still apply (Ajv reads a property's own `default`).
  const withDefault = (o: JsonSchema): JsonSchema => (s.default !== undefined ? { ...o, default: s.default } : o);
  if (s.$ref) return withDefault({ $ref: BASE + s.$ref });
  if (s['x-kubernetes-int-or-string']) return withDefault({ anyOf: [{ type: 'integer' }, { type: 'string' }] });
  const out: JsonSchema = {};
  if (s.type) out.type = s.type;
  if (s.enum) out.enum = s.enum;
  if (s.default !== undefined) out.default = s.default;
  if (s.pattern) out.pattern = s.pattern;
  if (s.minimum !== undefined) out.minimum = s.minimum;
  if (s.maximum !== undefined) out.maximum = s.maximum;
  // Integer formats are ranges: a replicas of 2^31 must not reach a controller.
  if (s.type === 'integer' && s.format === 'int32') {
    out.minimum ??= -(2 ** 31);
    out.maximum ??= 2 ** 31 - 1;
  } else if (s.type === 'integer' && s.format === 'int64') {
    out.minimum ??= -(2 ** 63);
    out.maximum ??= 2 ** 63 - 1;
  }
  if (s.minLength !== undefined) out.minLength = s.minLength;
  if (s.maxLength !== undefined) out.maxLength = s.maxLength;
  if (s.required?.length) out.required = s.required;
  if (s.items) out.items = translate(s.items);
  if (s.properties) {
    const props: Record<string, JsonSchema> = {};
    for (const [k, v] of Object.entries(s.properties)) props[k] = translate(v);
    out.properties = props;
  }
  if (s.additionalProperties !== undefined) {
    out.additionalProperties = typeof s.additionalProperties === 'boolean' ? s.additionalProperties : translate(s.additionalProperties);
  } else if (s.type === 'object' && s.properties && !s['x-kubernetes-preserve-unknown-fields']) {
    out.additionalProperties = false;
  }
  return out;
}

/** "/spec/containers/0/image" → "spec.containers[0].image" */
export function fieldPath(instancePath: string, child?: string): string {
  const parts = instancePath.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (child !== undefined) parts.push(child);
  let out = '';
  for (const p of parts) out += /^\d+$/.test(p) ? `[${p}]` : out ? `.${p}` : p;
  return out;
}

/** Kubernetes decodes JSON null as "not set"; so do we, before validating. */
export function dropNulls(value: unknown): unknown {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = dropNulls(value[i]);
    return value;
  }
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      if (o[k] === null) delete o[k];
      else dropNulls(o[k]);
    }
  }
  return value;
}

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

export interface SchemaResult {
  /** Unknown fields found (reported in Strict, warned in Warn, dropped otherwise). */
  unknownFields: string[];
  /** Wrong JSON types: a decoding error (400). */
  typeErrors: FieldError[];
  /** Missing required fields, unsupported enum values (422). */
  fieldErrors: FieldError[];
}

export class SchemaValidator {
  private readonly strict: AjvInstance;
  private readonly pruning: AjvInstance;
  private readonly compiled = new Map<string, { strict: ValidateFunction; pruning: ValidateFunction }>();

  constructor(private readonly registry: Registry) {
    // verbose: errors carry the offending value (e.data), which messages quote.
    const common = { strict: false, allErrors: true, useDefaults: true, validateFormats: false, verbose: true } as const;
    this.strict = new Ajv({ ...common });
    this.pruning = new Ajv({ ...common, removeAdditional: true });
    for (const [name, schema] of Object.entries(registry.definitions)) {
      const js = translate(schema);
      this.strict.addSchema({ ...js, $id: BASE + name });
      this.pruning.addSchema({ ...js, $id: BASE + name });
    }
  }

  /**
   * Compile every kind's validators one at a time in idle turns of the event
   * loop, so the first write of a kind does not stall the server compiling.
   */
  warmUp(kinds: ResourceType[]): void {
    const next = (i: number): void => {
      if (i >= kinds.length) return;
      this.validators(kinds[i]);
      setImmediate(() => next(i + 1)).unref();
    };
    setImmediate(() => next(0)).unref();
  }

  private validators(rt: ResourceType): { strict: ValidateFunction; pruning: ValidateFunction } {
    let v = this.compiled.get(rt.definition);
    if (!v) {
      const root = { $ref: BASE + rt.definition };
      v = { strict: this.strict.compile(root), pruning: this.pruning.compile(root) };
      this.compiled.set(rt.definition, v);
    }
    return v;
  }

  /**
   * Validate obj in place: nulls dropped, schema defaults applied, and in
   * Warn/Ignore mode unknown fields pruned.
   */
  validate(rt: ResourceType, obj: Record<string, unknown>, mode: FieldValidation): SchemaResult {
    dropNulls(obj);
    const v = this.validators(rt);
    let errors: ErrorObject[];
    if (mode === 'Strict') {
      v.strict(obj);
      errors = v.strict.errors ?? [];
    } else {
      const probe = structuredClone(obj);
      v.strict(probe);
      const unknown = (v.strict.errors ?? []).filter((e) => e.keyword === 'additionalProperties');
      v.pruning(obj);
      errors = [...unknown, ...(v.pruning.errors ?? [])];
    }
    return classify(errors);
  }
}

function classify(errors: ErrorObject[]): SchemaResult {
  const result: SchemaResult = { unknownFields: [], typeErrors: [], fieldErrors: [] };
  const seen = new Set<string>();
  for (const e of errors) {
    let field: string;
    let bucket: FieldError[] | undefined;
    let fe: FieldError | undefined;
    switch (e.keyword) {
      case 'additionalProperties':
        field = fieldPath(e.instancePath, String((e.params as { additionalProperty: string }).additionalProperty));
        if (!seen.has(`u:${field}`)) result.unknownFields.push(field);
        seen.add(`u:${field}`);
        continue;
      case 'required':
        field = fieldPath(e.instancePath, String((e.params as { missingProperty: string }).missingProperty));
        fe = { field, reason: 'FieldValueRequired', message: 'Required value' };
        bucket = result.fieldErrors;
        break;
      case 'enum': {
        field = fieldPath(e.instancePath);
        const allowed = ((e.params as { allowedValues: unknown[] }).allowedValues ?? []).map((a) => JSON.stringify(a)).join(', ');
        fe = { field, reason: 'FieldValueNotSupported', message: `Unsupported value: ${JSON.stringify(e.data)}: supported values: ${allowed}` };
        bucket = result.fieldErrors;
        break;
      }
      case 'type':
        field = fieldPath(e.instancePath);
        fe = { field, reason: 'FieldValueTypeInvalid', message: `Invalid value: ${describeValue(e.data)}: ${field} in body must be of type ${(e.params as { type: string }).type}` };
        bucket = result.typeErrors;
        break;
      case 'minimum':
      case 'maximum': {
        // Outside its int32/int64 range a number cannot be decoded at all: a 400, as Kubernetes' decoder answers.
        const limit = (e.params as { limit: number }).limit;
        if (!INT_BOUNDS.has(limit)) {
          field = fieldPath(e.instancePath);
          fe = { field, reason: 'FieldValueInvalid', message: `Invalid value: ${describeValue(e.data)}: ${e.message ?? 'out of range'}` };
          bucket = result.fieldErrors;
          break;
        }
        field = fieldPath(e.instancePath);
        fe = { field, reason: 'FieldValueTypeInvalid', message: `Invalid value: ${describeValue(e.data)}: ${field} in body is out of range for ${limit === 2 ** 31 - 1 || limit === -(2 ** 31) ? 'int32' : 'int64'}` };
        bucket = result.typeErrors;
        break;
      }
      case 'anyOf':
        field = fieldPath(e.instancePath);
        fe = { field, reason: 'FieldValueTypeInvalid', message: `Invalid value: ${describeValue(e.data)}: ${field} in body must be an integer or a string` };
        bucket = result.typeErrors;
        break;
      default:
        field = fieldPath(e.instancePath);
        fe = { field, reason: 'FieldValueInvalid', message: `Invalid value: ${describeValue(e.data)}: ${e.message ?? 'invalid'}` };
        bucket = result.fieldErrors;
    }
    // anyOf reports its branches' type errors too; keep one error per field.
    if (seen.has(field)) continue;
    seen.add(field);
    bucket.push(fe);
  }
  return result;
}

const INT_BOUNDS = new Set([-(2 ** 31), 2 ** 31 - 1, -(2 ** 63), 2 ** 63 - 1]);

function describeValue(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? String(v);
  return Array.isArray(v) ? '"array"' : '"object"';
}
