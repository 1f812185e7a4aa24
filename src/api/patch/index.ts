// The patch library the API server calls for PATCH requests and for
// ownership bookkeeping on every write. Pure functions, no I/O.
export { PatchError, ApplyConflictError, type ApplyConflict } from './errors.js';
export { applyMergePatch } from './merge-patch.js';
export { applyJsonPatch, MAX_JSON_PATCH_OPERATIONS } from './json-patch.js';
export { applyStrategicMergePatch } from './strategic-merge.js';
export { serverSideApply, BEFORE_FIRST_APPLY, type ApplyOptions, type ApplyResult } from './apply.js';
export { trackUpdate, type TrackUpdateOptions } from './track.js';
export { FieldSet, pathString } from './fieldset.js';
export type { Resolve } from './schema-nav.js';
