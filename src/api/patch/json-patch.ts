// JSON patch, RFC 6902 (application/json-patch+json), applied with
// fast-json-patch. We check the shape of the operations ourselves so a bad
// request gets a 400 naming the operation, and map fast-json-patch's failures
// (missing path, failed test) to 422 as Kubernetes does.
import jsonpatch from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import { PatchError } from './errors.js';
import { cloneJson, isObject, preview } from './json.js';

/** Kubernetes refuses longer patches with the same limit. */
export const MAX_JSON_PATCH_OPERATIONS = 10000;

const OPS = new Set(['add', 'remove', 'replace', 'move', 'copy', 'test']);

/** The patched document; `target` is not modified. `undefined` is patched as {}. */
export function applyJsonPatch(target: unknown, ops: unknown): unknown {
  const operations = parseOperations(ops);
  try {
    // mutateDocument=false: fast-json-patch copies the document once.
    return jsonpatch.applyPatch(target === undefined ? {} : target, operations, true, false, true).newDocument;
  } catch (e) {
    if (e instanceof jsonpatch.JsonPatchError) throw describeFailure(e, operations);
    throw e;
  }
}

/** Validate the request body and copy it, so later operations cannot modify values of the caller's ops. */
function parseOperations(ops: unknown): Operation[] {
  if (!Array.isArray(ops)) throw new PatchError(`json patch must be a JSON array of operations, got ${preview(ops, 60)}`);
  if (ops.length > MAX_JSON_PATCH_OPERATIONS)
    throw new PatchError(`The allowed maximum operations in a JSON patch is ${MAX_JSON_PATCH_OPERATIONS}, got ${ops.length}`);
  return ops.map((raw, i): Operation => {
    if (!isObject(raw)) throw new PatchError(`json patch operation ${i}: must be an object, got ${preview(raw, 60)}`);
    const { op, path } = raw;
    if (typeof op !== 'string' || !OPS.has(op))
      throw new PatchError(`json patch operation ${i}: "op" must be one of add, remove, replace, move, copy, test; got ${preview(op, 60)}`);
    if (typeof path !== 'string') throw new PatchError(`json patch operation ${i} (${op}): "path" must be a string`);
    if (path !== '' && !path.startsWith('/'))
      throw new PatchError(`json patch operation ${i} (${op} ${path}): "path" must be a JSON pointer starting with "/"`);
    if (op === 'move' || op === 'copy') {
      const from = raw.from;
      if (typeof from !== 'string' || (from !== '' && !from.startsWith('/')))
        throw new PatchError(`json patch operation ${i} (${op} ${path}): "from" must be a JSON pointer`);
      return { op, path, from };
    }
    if (op === 'remove') return { op, path };
    if (!('value' in raw) || raw.value === undefined) throw new PatchError(`json patch operation ${i} (${op} ${path}): "value" is required`);
    return { op, path, value: cloneJson(raw.value) } as Operation;
  });
}

function describeFailure(e: InstanceType<typeof jsonpatch.JsonPatchError>, ops: Operation[]): PatchError {
  const i = typeof e.index === 'number' ? e.index : -1;
  const op = ops[i];
  const where = op ? `json patch operation ${i} (${op.op} ${op.path})` : 'json patch';
  const from = op && 'from' in op ? op.from : '';
  const reasons: Record<string, string> = {
    TEST_OPERATION_FAILED: `test failed: the value at ${op?.path || '/'} is not ${op && 'value' in op ? preview(op.value, 80) : 'the expected value'}`,
    OPERATION_PATH_UNRESOLVABLE: `the path ${op?.path || '/'} does not exist`,
    OPERATION_FROM_UNRESOLVABLE: `the "from" path ${from} does not exist`,
    OPERATION_PATH_CANNOT_ADD: `cannot add at ${op?.path}: its parent does not exist`,
    OPERATION_PATH_ILLEGAL_ARRAY_INDEX: `${op?.path} is not a valid array index`,
    OPERATION_VALUE_OUT_OF_BOUNDS: `the array index in ${op?.path} is out of bounds`,
  };
  const reason = reasons[e.name] ?? e.message.split('\n')[0];
  // Kubernetes answers 422 when a well-formed patch does not apply to the object.
  return new PatchError(`${where}: ${reason}`, 422);
}
