// Errors as Kubernetes `Status` objects: every failure a client sees has the
// right HTTP code, a machine-readable reason and a message a person can act on.
import type { FieldError, ResourceType } from '../apis/types.js';

export type StatusReason =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Gone'
  | 'Expired'
  | 'Invalid'
  | 'MethodNotAllowed'
  | 'NotAcceptable'
  | 'UnsupportedMediaType'
  | 'RequestEntityTooLarge'
  | 'TooManyRequests'
  | 'InternalError'
  | 'Timeout'
  | 'ServiceUnavailable';

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: Array<{ reason?: string; message: string; field?: string }>;
  retryAfterSeconds?: number;
}

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: StatusReason,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  toStatus(): Record<string, unknown> {
    const s: Record<string, unknown> = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      code: this.code,
    };
    if (this.details) s.details = this.details;
    return s;
  }
}

/** "pods", "deployments.apps": how Kubernetes names a resource in messages. */
export function qualifiedResource(rt: Pick<ResourceType, 'plural' | 'group'>): string {
  return rt.group ? `${rt.plural}.${rt.group}` : rt.plural;
}

export const badRequest = (message: string, causes?: StatusDetails['causes']): ApiError =>
  new ApiError(400, 'BadRequest', message, causes ? { causes } : undefined);

export const notFound = (rt: Pick<ResourceType, 'plural' | 'group' | 'kind'>, name: string): ApiError =>
  new ApiError(404, 'NotFound', `${qualifiedResource(rt)} "${name}" not found`, { name, group: rt.group, kind: rt.plural });

export const alreadyExists = (rt: Pick<ResourceType, 'plural' | 'group'>, name: string): ApiError =>
  new ApiError(409, 'AlreadyExists', `${qualifiedResource(rt)} "${name}" already exists`, { name, group: rt.group, kind: rt.plural });

export const conflict = (rt: Pick<ResourceType, 'plural' | 'group'>, name: string, why: string): ApiError =>
  new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualifiedResource(rt)} "${name}": ${why}`, {
    name,
    group: rt.group,
    kind: rt.plural,
  });

/** Deleting an object something still uses: 'image "debian" is in use by pod default/web'. */
export function inUse(rt: Pick<ResourceType, 'plural' | 'group' | 'singular'>, name: string, users: string[]): ApiError {
  const shown = users.length > 5 ? [...users.slice(0, 5), `${users.length - 5} more`] : users;
  return new ApiError(409, 'Conflict', `${rt.singular} "${name}" is in use by ${shown.join(', ')}`, { name, group: rt.group, kind: rt.plural });
}

export const staleUpdate = (rt: Pick<ResourceType, 'plural' | 'group'>, name: string): ApiError =>
  conflict(rt, name, 'the object has been modified; please apply your changes to the latest version and try again');

export function invalid(rt: Pick<ResourceType, 'kind' | 'group'>, name: string, errors: FieldError[]): ApiError {
  const summary = errors.map((e) => `${e.field}: ${e.message}`).join(', ');
  return new ApiError(422, 'Invalid', `${rt.kind}${rt.group ? `.${rt.group}` : ''} "${name}" is invalid: ${errors.length > 1 ? `[${summary}]` : summary}`, {
    name,
    group: rt.group,
    kind: rt.kind,
    causes: errors.map((e) => ({ reason: e.reason, message: e.message, field: e.field })),
  });
}

export const forbidden = (message: string): ApiError => new ApiError(403, 'Forbidden', message);
export const gone = (message: string): ApiError => new ApiError(410, 'Expired', message);
export const methodNotAllowed = (message: string): ApiError => new ApiError(405, 'MethodNotAllowed', message);
export const unsupportedMediaType = (message: string): ApiError => new ApiError(415, 'UnsupportedMediaType', message);
export const notAcceptable = (message: string): ApiError => new ApiError(406, 'NotAcceptable', message);
export const unauthorized = (): ApiError => new ApiError(401, 'Unauthorized', 'Unauthorized');
export const tooLarge = (limit: number): ApiError =>
  new ApiError(413, 'RequestEntityTooLarge', `the request body is larger than the limit of ${limit} bytes`);
export const internalError = (message: string): ApiError => new ApiError(500, 'InternalError', message);

/** A body naming another object than the URL does. */
export const nameMismatch = (inBody: string, inUrl: string): ApiError =>
  badRequest(`the name of the object (${inBody}) does not match the name on the URL (${inUrl})`);

/** A uid precondition (DeleteOptions.preconditions, or a uid in an update body) that names another incarnation. */
export const uidPreconditionFailed = (rt: Pick<ResourceType, 'plural' | 'group'>, name: string, wanted: string, actual: string | undefined): ApiError =>
  conflict(rt, name, `Precondition failed: UID in precondition: ${wanted}, UID in object meta: ${actual}`);

/** DeleteOptions.preconditions against the object as it is: a 409 in the apiserver's words when one does not hold. */
export function checkPreconditions(
  rt: Pick<ResourceType, 'plural' | 'group'>,
  name: string,
  pre: { uid?: string; resourceVersion?: string } | undefined,
  meta: { uid?: string; resourceVersion?: string },
): void {
  if (pre?.uid && pre.uid !== meta.uid) throw uidPreconditionFailed(rt, name, pre.uid, meta.uid);
  if (pre?.resourceVersion && pre.resourceVersion !== meta.resourceVersion)
    throw conflict(rt, name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${meta.resourceVersion}`);
}
