// The oracle for the equivalence tests and the "before" column of
// bench/managed-fields.ts: the ownership code exactly as it was before it
// was optimized (commit 8041a40), copied verbatim into test/patch/reference/
// with only import paths changed. Do not edit those copies to follow later
// changes in src/api/patch: their whole point is to stay as they were.
export { trackUpdate as referenceTrackUpdate } from './reference/track.js';
export { serverSideApply as referenceServerSideApply } from './reference/apply.js';
export { ApplyConflictError as ReferenceApplyConflictError, PatchError as ReferencePatchError } from './reference/errors.js';
export { compareObjects as referenceCompareObjects } from './reference/ssa-compare.js';
export { configFieldSet as referenceConfigFieldSet } from './reference/ssa-fieldset.js';
export { SchemaNav as ReferenceSchemaNav } from './reference/schema-nav.js';
export { FieldSet as ReferenceFieldSet } from './reference/fieldset.js';
