// Verbatim copy of src/api/patch at commit 8041a40 (the reference implementation; see ../reference-track.ts).
// The two ways a patch can fail. The API layer maps them to Status objects:
// PatchError to 400 BadRequest or 422 Invalid, ApplyConflictError to 409.

/** A patch that cannot be applied: malformed (400) or not applicable to this object (422). */
export class PatchError extends Error {
  constructor(
    message: string,
    readonly code: 400 | 422 = 400,
  ) {
    super(message);
    this.name = 'PatchError';
  }
}

export interface ApplyConflict {
  /** The manager that owns the field, e.g. "kubectl-client-side-apply". */
  manager: string;
  /** The field in Kubernetes' path notation, e.g. `.spec.containers[name="app"].image`. */
  field: string;
  /** How Kubernetes names the owner in Status causes, e.g. `conflict with "kubectl" using apps/v1`. */
  message: string;
}

/**
 * Server-side apply would change fields another manager owns. `message` is
 * exactly Kubernetes' text (409 Conflict), e.g.
 * `Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using v1: .spec.replicas`.
 */
export class ApplyConflictError extends Error {
  constructor(
    readonly conflicts: ApplyConflict[],
    message: string,
  ) {
    super(message);
    this.name = 'ApplyConflictError';
  }
}
