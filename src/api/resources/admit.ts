// Admission for a write: schema (types, unknown fields, defaults), metadata
// rules, then the kind's own defaulting and semantic validation. Runs for
// create, update, patch and apply alike, so no path can store an object the
// schema would reject.
import type { FieldError, KubeObject, ResourceType } from '../../apis/types.js';
import { apiVersionOf } from '../../apis/types.js';
import { metadataErrors } from '../admission/metadata.js';
import type { FieldValidation, SchemaValidator } from '../admission/schema-validator.js';
import { ApiError, badRequest, invalid } from '../status.js';

export interface AdmitOptions {
  fieldValidation: FieldValidation;
  /** Collected Warning headers (Warn mode). */
  warnings: string[];
  old?: KubeObject;
}

export function admit(validator: SchemaValidator, rt: ResourceType, obj: KubeObject, o: AdmitOptions): void {
  const name = obj.metadata?.name ?? '';
  const result = validator.validate(rt, obj as unknown as Record<string, unknown>, o.fieldValidation);
  if (result.unknownFields.length) {
    const list = result.unknownFields.map((f) => `unknown field "${f}"`);
    if (o.fieldValidation === 'Strict') {
      throw new ApiError(
        400,
        'BadRequest',
        `${rt.kind} in version "${rt.version}" cannot be handled as a ${rt.kind}: strict decoding error: ${list.join(', ')}`,
        { name, group: rt.group, kind: rt.kind, causes: result.unknownFields.map((f) => ({ reason: 'FieldValueInvalid', message: `unknown field "${f}"`, field: f })) },
      );
    }
    if (o.fieldValidation === 'Warn') o.warnings.push(...list);
  }
  if (result.typeErrors.length) {
    const first = result.typeErrors.map((e) => `${e.field}: ${e.message}`).join(', ');
    throw new ApiError(400, 'BadRequest', `${rt.kind} in version "${rt.version}" cannot be handled as a ${rt.kind}: ${first}`, {
      name,
      group: rt.group,
      kind: rt.kind,
      causes: result.typeErrors.map((e) => ({ reason: e.reason, message: e.message, field: e.field })),
    });
  }
  const errors: FieldError[] = [...result.fieldErrors];
  errors.push(...metadataErrors(obj, rt));
  if (!errors.length) {
    rt.applyDefaults?.(obj);
    errors.push(...(rt.validate?.(obj, o.old) ?? []));
  }
  if (errors.length) throw invalid(rt, name, errors);
}

/** The body's apiVersion/kind must name the resource of the URL. */
export function checkTypeMeta(rt: ResourceType, body: unknown): KubeObject {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw badRequest(`the request body must be a ${rt.kind} object`);
  const obj = body as KubeObject;
  const want = apiVersionOf(rt);
  if (!obj.kind) throw badRequest(`Object 'Kind' is missing in the request body; expected kind ${rt.kind}`);
  if (!obj.apiVersion) throw badRequest(`Object 'apiVersion' is missing in the request body; expected apiVersion ${want}`);
  if (obj.kind !== rt.kind || obj.apiVersion !== want)
    throw badRequest(`the API version in the data (${obj.apiVersion}) or kind (${obj.kind}) does not match the expected ${want}, Kind=${rt.kind}`);
  if (obj.metadata === undefined || obj.metadata === null) obj.metadata = {};
  if (typeof obj.metadata !== 'object' || Array.isArray(obj.metadata)) throw badRequest('metadata must be an object');
  return obj;
}
