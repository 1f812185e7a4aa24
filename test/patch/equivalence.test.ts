// The optimized ownership code must give exactly what the code it replaced
// gave (test/patch/reference/, the oracle): the same managedFields entries,
// byte for byte in JSON (FieldsV1 key order included), the same merged
// objects and `changed` flags from apply, the same conflicts and errors.
// Objects, edits and managedFields are generated at random from the Pod and
// Deployment schemas of the real registry and of the test fixtures, and fed
// to both implementations in chains of writes (each step starting from the
// previous step's result), frozen so that neither can modify its inputs.
//
// Deterministic; EQUIV_SEED and EQUIV_CASES (environment) run other or more cases.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { registry } from '../../src/apis/registry.js';
import { arr, freeform, obj, ref, str, type Schema } from '../../src/apis/schema.js';
import type { ManagedFieldsEntry } from '../../src/apis/types.js';
import { FieldSet, serverSideApply, trackUpdate, type ApplyOptions, type TrackUpdateOptions } from '../../src/api/patch/index.js';
import { SchemaNav } from '../../src/api/patch/schema-nav.js';
import { compareObjects } from '../../src/api/patch/ssa-compare.js';
import { configFieldSet } from '../../src/api/patch/ssa-fieldset.js';
import { definitions as fixtureDefinitions, frozen, resolve as fixtureResolve } from './fixtures.js';
import {
  ReferenceFieldSet,
  ReferenceSchemaNav,
  referenceCompareObjects,
  referenceConfigFieldSet,
  referenceServerSideApply,
  referenceTrackUpdate,
} from './reference-track.js';
import { listSemantics } from './reference/schema-nav.js';

type Obj = Record<string, unknown>;

const SEED = Number(process.env.EQUIV_SEED ?? 20260101);
const CASES = Number(process.env.EQUIV_CASES ?? 400);

// ---- randomness ---------------------------------------------------------------

class Rand {
  private a: number;
  constructor(seed: number) {
    this.a = seed >>> 0;
  }
  /** mulberry32 */
  next(): number {
    this.a = (this.a + 0x6d2b79f5) >>> 0;
    let t = this.a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)];
  }
  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [a[i], a[j]] = [a[j], a[i]];
    }
    return a;
  }
}

// ---- worlds: a schema, its resolver, and what its objects look like ------------

interface World {
  name: string;
  schema: Schema;
  resolve: (s: Schema) => Schema;
  apiVersion: string;
  kind: string;
  /** A realistic object to start from (mutated per case), or none. */
  base?: () => Obj;
}

const reg = registry();
const regResolve = (s: Schema): Schema => reg.resolve(s);
const def = (apiVersion: string, kind: string): Schema => {
  const rt = reg.kind(apiVersion, kind);
  if (!rt) throw new Error(`no ${apiVersion}/${kind}`);
  return reg.definitions[rt.definition];
};

function realisticPodSpec(): Obj {
  return {
    containers: [
      {
        name: 'web',
        image: 'registry.example.com/team/web:1.24.3',
        command: ['/bin/web'],
        args: ['--listen=:8080'],
        ports: [
          { name: 'http', containerPort: 8080, protocol: 'TCP' },
          { name: 'metrics', containerPort: 9102 },
        ],
        env: [
          { name: 'MODE', value: 'production' },
          { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        ],
        resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
        volumeMounts: [{ name: 'config', mountPath: '/etc/web', readOnly: true }],
        readinessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 5 },
        terminationMessagePath: '/dev/termination-log',
        imagePullPolicy: 'IfNotPresent',
      },
    ],
    volumes: [
      { name: 'config', configMap: { name: 'web-config' } },
      { name: 'cache', emptyDir: {} },
    ],
    tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'web', effect: 'NoSchedule' }],
    restartPolicy: 'Always',
    dnsPolicy: 'ClusterFirst',
  };
}

const meta = (): Obj => ({
  name: 'web',
  namespace: 'default',
  uid: 'u-1',
  generation: 1,
  creationTimestamp: '2026-01-01T00:00:00Z',
  labels: { app: 'web', tier: 'front' },
  annotations: { note: 'x' },
  finalizers: ['example.com/a'],
});

const WORLDS: World[] = [
  { name: 'registry Pod', schema: def('v1', 'Pod'), resolve: regResolve, apiVersion: 'v1', kind: 'Pod', base: () => ({ apiVersion: 'v1', kind: 'Pod', metadata: meta(), spec: realisticPodSpec(), status: { phase: 'Pending' } }) },
  {
    name: 'registry Deployment',
    schema: def('apps/v1', 'Deployment'),
    resolve: regResolve,
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    base: () => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta(),
      spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: realisticPodSpec() } },
    }),
  },
  { name: 'fixture Pod', schema: fixtureDefinitions['test.Pod'], resolve: fixtureResolve, apiVersion: 'v1', kind: 'Pod' },
  { name: 'fixture Deployment', schema: fixtureDefinitions['test.Deployment'], resolve: fixtureResolve, apiVersion: 'apps/v1', kind: 'Deployment' },
];

// ---- values -------------------------------------------------------------------

// Small pools, so that independently generated versions share keys and identities.
const STRINGS = ['a', 'b', 'c', '', 'web', 'x y', 'ü', '"q"', 'TCP', 'UDP'];
const INTS = [0, 1, 2, 80, 8080, -1];
const KEYS = ['a', 'b', 'app', 'tier', 'k.io/x', 'constructor', 'toString', '1', '0', 'ä', 'A'];
const FIELD_KEYS = ['f:a', 'f:b', 'f:spec', 'f:metadata', 'f:labels', 'f:app', 'k:{"name":"a"}', 'k:{"name":"b"}', 'v:"x"', 'v:1', 'i:1', 'i:01', 'i:10', 'i:2', 'i:x', 'x', '5', '.'];

function scalar(r: Rand): unknown {
  switch (r.int(6)) {
    case 0:
      return r.pick(INTS);
    case 1:
      return r.chance(0.5);
    case 2:
      return null;
    default:
      return r.pick(STRINGS);
  }
}

/** Any JSON, with no regard for a schema. */
function wild(r: Rand, depth: number): unknown {
  if (depth > 3 || r.chance(0.5)) return scalar(r);
  if (r.chance(0.5)) return Array.from({ length: r.int(4) }, () => wild(r, depth + 1));
  const o: Obj = {};
  for (let i = r.int(4); i > 0; i--) o[r.pick(KEYS)] = wild(r, depth + 1);
  return o;
}

function isFreeformSchema(s: Schema): boolean {
  return !!s['x-kubernetes-preserve-unknown-fields'] && !s.properties && typeof s.additionalProperties !== 'object' && !s.items;
}

/** A value shaped (mostly) by schema `s`; now and then not, as clients send. */
function gen(r: Rand, w: World, s: Schema | undefined, depth: number): unknown {
  if (s?.$ref) s = w.resolve(s);
  if (r.chance(0.03)) return wild(r, depth);
  if (!s || isFreeformSchema(s)) return wild(r, depth);
  if (s.type === 'object' || s.properties || typeof s.additionalProperties === 'object') {
    const out: Obj = {};
    if (depth > 6) return out;
    const props = Object.keys(s.properties ?? {});
    for (const p of r.shuffle([...props]).slice(0, Math.min(props.length, r.int(depth < 2 ? 6 : 4)))) out[p] = gen(r, w, s.properties?.[p], depth + 1);
    if (typeof s.additionalProperties === 'object') for (let i = r.int(4); i > 0; i--) out[r.pick(KEYS)] = gen(r, w, s.additionalProperties, depth + 1);
    if (r.chance(0.03)) out.unknownField = wild(r, depth + 1);
    return out;
  }
  if (s.type === 'array' || s.items) {
    if (depth > 6) return [];
    const sem = listSemantics(s);
    return Array.from({ length: r.int(4) }, () => {
      if (sem.type === 'set') return r.chance(0.9) ? r.pick(['a', 'b', 'c', 1, 2]) : wild(r, depth + 1);
      const item = gen(r, w, s?.items, depth + 1);
      if (sem.type === 'map' && item && typeof item === 'object' && !Array.isArray(item)) {
        // Identities from small pools; sometimes a key left out (a default may fill it, or not).
        for (const k of sem.keys) {
          if (r.chance(0.07)) delete (item as Obj)[k];
          else (item as Obj)[k] = r.chance(0.5) ? r.pick(['a', 'b', 'c']) : r.chance(0.5) ? r.pick([80, 443, 8080]) : r.pick(['TCP', 'UDP']);
        }
      }
      return item;
    });
  }
  if (s.type === 'integer' || s.type === 'number') return r.chance(0.95) ? r.pick(INTS) : scalar(r);
  if (s.type === 'boolean') return r.chance(0.95) ? r.chance(0.5) : scalar(r);
  return r.chance(0.95) ? r.pick(STRINGS) : scalar(r);
}

function genObject(r: Rand, w: World): Obj {
  const o = (w.base && r.chance(0.5) ? w.base() : gen(r, w, w.schema, 0)) as Obj;
  const out: Obj = typeof o === 'object' && o && !Array.isArray(o) ? o : {};
  out.apiVersion = w.apiVersion;
  out.kind = w.kind;
  const m = (out.metadata && typeof out.metadata === 'object' ? out.metadata : (out.metadata = {})) as Obj;
  m.name = 'web';
  delete m.managedFields;
  return out;
}

/** Every place a value sits: its container and key (array index or object key). */
function places(v: unknown, out: Array<[Obj | unknown[], string | number]> = [], top = true): Array<[Obj | unknown[], string | number]> {
  if (Array.isArray(v)) v.forEach((x, i) => (out.push([v, i]), places(x, out, false)));
  else if (v && typeof v === 'object') {
    for (const k of Object.keys(v)) {
      if (top && k === 'apiVersion') continue;
      if (k === 'managedFields') continue;
      out.push([v as Obj, k]);
      places((v as Obj)[k], out, false);
    }
  }
  return out;
}

/** One to three random edits (of a deep copy): the kinds of changes writes make, and some they should not. */
function mutate(r: Rand, w: World, o: Obj): Obj {
  const out = structuredClone(o);
  for (let n = 1 + r.int(3); n > 0; n--) {
    const all = places(out);
    if (!all.length) break;
    const [c, k] = r.pick(all);
    const get = () => (c as Record<string | number, unknown>)[k];
    const set = (v: unknown) => ((c as Record<string | number, unknown>)[k] = v);
    const v = get();
    switch (r.int(10)) {
      case 0:
        if (Array.isArray(c)) c.splice(k as number, 1);
        else delete (c as Obj)[k as string];
        break;
      case 1:
        set(scalar(r));
        break;
      case 2:
        set(wild(r, 2));
        break;
      case 3: // keys in another order
        if (v && typeof v === 'object' && !Array.isArray(v)) set(Object.fromEntries(r.shuffle(Object.entries(v))));
        else set(scalar(r));
        break;
      case 4: // list edits: reorder, duplicate, drop
        if (Array.isArray(v) && v.length) {
          const op = r.int(3);
          if (op === 0) v.reverse();
          else if (op === 1) v.push(structuredClone(r.pick(v)));
          else v.splice(r.int(v.length), 1);
        } else set([]);
        break;
      case 5: // a new entry in a map
        if (v && typeof v === 'object' && !Array.isArray(v)) (v as Obj)[r.pick(KEYS)] = r.chance(0.5) ? scalar(r) : wild(r, 2);
        else set({});
        break;
      case 6: // a subtree regenerated from the root schema's shape, somewhere
        set(structuredClone(r.pick(all.map(([cc, kk]) => (cc as Record<string | number, unknown>)[kk]))));
        break;
      case 7: // a fresh subtree of the right shape: regenerate the whole spec or metadata part
        if (c === out && typeof k === 'string') {
          const g = gen(r, w, w.schema, 0);
          set(g && typeof g === 'object' && Object.prototype.hasOwnProperty.call(g, k) ? (g as Obj)[k] : scalar(r));
        } else set(null);
        break;
      default: // the commonest edit: one leaf changed
        set(typeof v === 'string' ? `${v}-2` : typeof v === 'number' ? v + 1 : scalar(r));
    }
  }
  if (!out.metadata || typeof out.metadata !== 'object') out.metadata = {};
  return out;
}

/** managedFields nobody should send, but clients can: garbage, duplicates, unsorted, odd elements. */
function junkEntries(r: Rand): unknown[] {
  const fields = (depth: number): unknown => {
    if (depth > 3 || r.chance(0.3)) return r.chance(0.8) ? {} : scalar(r);
    const o: Obj = {};
    for (let i = 1 + r.int(4); i > 0; i--) o[r.pick(FIELD_KEYS)] = fields(depth + 1);
    return o;
  };
  return Array.from({ length: 1 + r.int(3) }, () => {
    if (r.chance(0.1)) return r.chance(0.5) ? {} : scalar(r);
    const e: Obj = {
      manager: r.pick(['a', 'b', 'kubectl', 'before-first-apply']),
      operation: r.chance(0.9) ? r.pick(['Update', 'Apply']) : 'Other',
      apiVersion: r.pick(['v1', 'apps/v1']),
      fieldsType: r.chance(0.95) ? 'FieldsV1' : 'FieldsV2',
      fieldsV1: fields(0),
    };
    if (r.chance(0.5)) e.time = r.pick(['2026-01-01T00:00:00Z', '2025-06-01T00:00:00Z']);
    if (r.chance(0.2)) e.subresource = r.pick(['status', 'scale', '']);
    return e;
  });
}

// ---- comparing both implementations ------------------------------------------------

type Outcome = { ok: true; json: string; value: unknown } | { ok: false; error: string };

function outcome(f: () => unknown): Outcome {
  try {
    const value = f();
    return { ok: true, json: JSON.stringify(value), value };
  } catch (e) {
    const err = e as Error & { conflicts?: unknown; code?: unknown };
    return { ok: false, error: JSON.stringify([err.name, err.message, err.conflicts, err.code]) };
  }
}

function same(label: string, a: Outcome, b: Outcome, input: unknown): void {
  const strip = (o: Outcome) => (o.ok ? { ok: true, json: o.json } : o);
  if (JSON.stringify(strip(a)) !== JSON.stringify(strip(b))) {
    assert.deepEqual(strip(b), strip(a), `${label}: differs from the reference for input ${JSON.stringify(input).slice(0, 4000)}`);
  }
}

const MANAGERS = ['kubectl-create', 'kubectl-edit', 'kubectl', 'controller', 'kubelet'];
const TIMES = ['2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z', '2026-01-03T00:00:00Z'];

function ignoreVariant(r: Rand): string[][] | undefined {
  return r.pick([undefined, undefined, [['status']], [['status'], ['spec', 'containers']], [['metadata', 'labels']], [] as string[][]]);
}

/** The request's managedFields: the stored ones as the API server passes them, or what a client might send. */
function requested(r: Rand, stored: ManagedFieldsEntry[] | undefined): unknown {
  const x = r.next();
  if (x < 0.75) return stored;
  if (x < 0.82) return undefined;
  if (x < 0.86) return [{}];
  if (x < 0.9) return [];
  if (x < 0.95 && stored?.length) return structuredClone(stored).reverse();
  return junkEntries(r);
}

function withManaged(o: Obj, mf: unknown): Obj {
  const m = { ...((o.metadata && typeof o.metadata === 'object' ? o.metadata : {}) as Obj) };
  if (mf === undefined) delete m.managedFields;
  else m.managedFields = mf;
  return { ...o, metadata: m };
}

function track(label: string, o: TrackUpdateOptions): ManagedFieldsEntry[] {
  const input = { ...o, old: frozen(o.old), updated: frozen(o.updated) };
  const a = outcome(() => referenceTrackUpdate(input));
  const b = outcome(() => trackUpdate(input));
  same(label, a, b, o);
  return a.ok ? (a.value as ManagedFieldsEntry[]) : [];
}

test('trackUpdate: same managedFields as the reference over random chains of writes', () => {
  const r = new Rand(SEED);
  let steps = 0;
  for (let c = 0; c < CASES; c++) {
    const w = r.pick(WORLDS);
    const common = () => ({
      apiVersion: r.chance(0.8) ? w.apiVersion : 'v1beta1',
      schema: w.schema,
      resolve: w.resolve,
      ignoreFields: ignoreVariant(r),
      now: r.chance(0.8) ? r.pick(TIMES) : new Date(Date.UTC(2026, 0, 1 + r.int(3), 0, 0, 0, r.int(1000))),
    });
    let current = genObject(r, w);
    // The create: usually without managedFields, sometimes with some sent along.
    const createMf = r.chance(0.8) ? undefined : r.chance(0.5) ? [{}] : junkEntries(r);
    let mf = track(`case ${c} create`, {
      ...common(),
      old: r.chance(0.9) ? undefined : null,
      updated: withManaged(current, createMf),
      manager: r.pick(MANAGERS),
      subresource: r.chance(0.9) ? undefined : 'status',
    });
    steps++;
    for (let i = 1 + r.int(4); i > 0; i--) {
      const next = r.chance(0.9) ? mutate(r, w, current) : genObject(r, w);
      const old = withManaged(current, mf);
      const upd = withManaged(next, requested(r, mf));
      mf = track(`case ${c} update`, {
        ...common(),
        old,
        updated: upd,
        manager: r.pick(MANAGERS),
        subresource: r.chance(0.8) ? undefined : r.pick(['status', 'scale']),
      });
      current = next;
      steps++;
    }
  }
  assert.ok(steps >= CASES * 2);
});

test('serverSideApply: same objects, managedFields, conflicts and errors as the reference', () => {
  const r = new Rand(SEED + 1);
  for (let c = 0; c < CASES; c++) {
    const w = r.pick(WORLDS);
    let live: Obj | undefined = r.chance(0.2) ? undefined : genObject(r, w);
    if (live && r.chance(0.7)) {
      // A history of ownership: created (and maybe edited) by someone first.
      const mf = referenceTrackUpdate({ old: undefined, updated: live, manager: r.pick(MANAGERS), apiVersion: w.apiVersion, now: TIMES[0], schema: w.schema, resolve: w.resolve });
      live = withManaged(live, r.chance(0.9) ? mf : junkEntries(r));
    }
    for (let i = 1 + r.int(4); i > 0; i--) {
      let applied: unknown;
      const x = r.next();
      if (x < 0.5 && live) applied = withManaged(mutate(r, w, live), undefined);
      else if (x < 0.9) applied = genObject(r, w);
      else applied = r.chance(0.5) ? withManaged(genObject(r, w), junkEntries(r)) : wild(r, 0);
      if (applied && typeof applied === 'object' && !Array.isArray(applied) && r.chance(0.2)) {
        // Nulls in an apply configuration remove fields.
        const ps = places(applied);
        if (ps.length) {
          const [cc, kk] = r.pick(ps);
          (cc as Record<string | number, unknown>)[kk] = null;
        }
      }
      const o: ApplyOptions = {
        live,
        applied,
        manager: r.chance(0.97) ? r.pick(MANAGERS) : '',
        force: r.chance(0.5),
        schema: w.schema,
        resolve: w.resolve,
        apiVersion: r.chance(0.8) ? w.apiVersion : 'v1beta1',
        now: r.pick(TIMES),
        subresource: r.chance(0.85) ? undefined : 'status',
        ignoreFields: ignoreVariant(r),
      };
      const input = { ...o, live: frozen(o.live), applied: frozen(o.applied) };
      const a = outcome(() => referenceServerSideApply(input));
      const b = outcome(() => serverSideApply(input));
      same(`case ${c} apply`, a, b, o);
      if (a.ok) live = (a.value as { object: Obj }).object;
      else if (live && r.chance(0.5)) {
        // An update in between, by someone else.
        const next = mutate(r, w, live);
        const mf = track(`case ${c} update between applies`, { old: live, updated: next, manager: r.pick(MANAGERS), apiVersion: w.apiVersion, now: r.pick(TIMES), schema: w.schema, resolve: w.resolve });
        live = withManaged(next, mf);
      }
    }
  }
});

test('compareObjects and configFieldSet: same sets (and errors) as the reference', () => {
  const r = new Rand(SEED + 2);
  const sets = (c: { added: { toFieldsV1(): unknown; paths(): unknown }; modified: { toFieldsV1(): unknown; paths(): unknown }; removed: { toFieldsV1(): unknown; paths(): unknown } }) =>
    [c.added, c.modified, c.removed].map((s) => [s.toFieldsV1(), s.paths()]);
  for (let c = 0; c < CASES; c++) {
    const w = r.pick(WORLDS);
    const a = genObject(r, w);
    const b = r.chance(0.8) ? mutate(r, w, a) : genObject(r, w);
    const ignore = r.chance(0.5) ? undefined : FieldSet.fromFieldsV1({ 'f:status': {}, 'f:metadata': { 'f:managedFields': {} } });
    const refIgnore = ignore && ReferenceFieldSet.fromFieldsV1(ignore.toFieldsV1());
    const input = frozen({ a, b });
    const ref = outcome(() => {
      const nav = new ReferenceSchemaNav(w.resolve);
      return sets(referenceCompareObjects(nav, input.a, input.b, nav.resolve(w.schema), refIgnore));
    });
    const got = outcome(() => {
      const nav = new SchemaNav(w.resolve);
      return sets(compareObjects(nav, input.a, input.b, nav.resolve(w.schema), ignore));
    });
    same(`case ${c} compareObjects`, ref, got, input);
    const refConfig = outcome(() => {
      const nav = new ReferenceSchemaNav(w.resolve);
      const s = referenceConfigFieldSet(nav, input.b, nav.resolve(w.schema));
      return [s.toFieldsV1(), s.paths()];
    });
    const gotConfig = outcome(() => {
      const nav = new SchemaNav(w.resolve);
      const s = configFieldSet(nav, input.b, nav.resolve(w.schema));
      return [s.toFieldsV1(), s.paths()];
    });
    same(`case ${c} configFieldSet`, refConfig, gotConfig, input.b);
  }
});

test('FieldSet algebra, copying and structure-sharing, matches the reference on random sets', () => {
  const r = new Rand(SEED + 3);
  const PES = ['f:a', 'f:b', 'f:c', 'k:{"name":"a"}', 'v:"x"', 'i:1', 'i:01', 'i:2', 'i:10'];
  const randomFields = (depth: number): Obj => {
    const o: Obj = {};
    if (r.chance(0.3)) o['.'] = {};
    if (depth < 4) for (let i = r.int(4); i > 0; i--) o[r.pick(PES)] = r.chance(0.4) ? {} : randomFields(depth + 1);
    return o;
  };
  const both = (ref: { toFieldsV1(): unknown; paths(): unknown; isEmpty(): boolean }, got: { toFieldsV1(): unknown; paths(): unknown; isEmpty(): boolean }, label: string) =>
    assert.equal(JSON.stringify([got.toFieldsV1(), got.paths(), got.isEmpty()]), JSON.stringify([ref.toFieldsV1(), ref.paths(), ref.isEmpty()]), label);
  for (let c = 0; c < CASES * 2; c++) {
    const fa = randomFields(0);
    const fb = r.chance(0.2) ? {} : randomFields(0);
    const [a, b] = [FieldSet.fromFieldsV1(fa), FieldSet.fromFieldsV1(fb)];
    const [ra, rb] = [ReferenceFieldSet.fromFieldsV1(fa), ReferenceFieldSet.fromFieldsV1(fb)];
    const before = JSON.stringify([a.toFieldsV1(), b.toFieldsV1()]);
    both(ra.union(rb), a.union(b), 'union');
    both(ra.union(rb), FieldSet.unionShared(a, b), 'unionShared');
    both(ra.difference(rb), a.difference(b), 'difference');
    both(ra.difference(rb), FieldSet.differenceShared(a, b), 'differenceShared');
    both(ra.withoutSubtrees(rb), a.withoutSubtrees(b), 'withoutSubtrees');
    both(ra.withoutSubtrees(rb), FieldSet.withoutSubtreesShared(a, b), 'withoutSubtreesShared');
    both(ra.intersection(rb), a.intersection(b), 'intersection');
    assert.equal(a.equals(b), ra.equals(rb));
    // Chains of shared operations, as ownership bookkeeping does them.
    both(ra.union(rb).difference(rb).union(ra), FieldSet.unionShared(FieldSet.differenceShared(FieldSet.unionShared(a, b), b), a), 'chain');
    assert.equal(JSON.stringify([a.toFieldsV1(), b.toFieldsV1()]), before, 'operands unchanged');
  }
});

// Two cases random objects do not reach, each guarding a shortcut of the fast path.

test('items keyed by an object value: key order is part of their identity, as in the reference', () => {
  // Equal JSON in another key order is a different k: element (JSON.stringify
  // follows key order), so skipping "equal" values must respect key order.
  const schema = obj({ list: arr(obj({ id: freeform(), v: str() }), { mergeKey: 'id' }), other: str() });
  const resolve = (s: Schema): Schema => s;
  const old = { list: [{ id: { a: 1, b: 2 }, v: 'x' }], other: 'o' };
  const updated = { list: [{ id: { b: 2, a: 1 }, v: 'x' }], other: 'o' };
  const mf = referenceTrackUpdate({ old: undefined, updated: old, manager: 'a', apiVersion: 'v1', now: TIMES[0], schema, resolve });
  const o: TrackUpdateOptions = { old: withManaged(old, mf), updated: withManaged(updated, mf), manager: 'b', apiVersion: 'v1', now: TIMES[1], schema, resolve };
  const got = track('object-valued keys', o);
  assert.ok(JSON.stringify(got).includes('k:{\\"id\\":{\\"b\\":2,\\"a\\":1}}'), 'the reordered item counts as a new one');
  type Sets = Record<'added' | 'modified' | 'removed', { toFieldsV1(): unknown }>;
  const sets = (c: Sets) => JSON.stringify([c.added.toFieldsV1(), c.modified.toFieldsV1(), c.removed.toFieldsV1()]);
  const rnav = new ReferenceSchemaNav(resolve);
  const nav = new SchemaNav(resolve);
  assert.equal(sets(compareObjects(nav, old, updated, schema)), sets(referenceCompareObjects(rnav, old, updated, schema)));
});

test('caches keep nothing a resolver decided: one schema, two registries', () => {
  // The same list schema object, its items a $ref two resolvers map to
  // different definitions: with one, the second key has a default (items
  // have identities); with the other it has none (the list is atomic). Calls
  // alternate, each must agree with the reference using the same resolver.
  const list = arr(ref('T.Item'), { mergeKey: 'name', mapKeys: ['name', 'proto'] });
  const schema = obj({ list, name: str() });
  const defsA: Record<string, Schema> = { 'T.Item': obj({ name: str(), proto: { type: 'string', default: 'TCP' }, v: str() }) };
  const defsB: Record<string, Schema> = { 'T.Item': obj({ name: str(), proto: str(), v: str() }) };
  const resolver = (defs: Record<string, Schema>) => (s: Schema): Schema => (s.$ref ? defs[s.$ref] : s);
  const v1 = { name: 'n', list: [{ name: 'a', v: '1' }, { name: 'b', proto: 'UDP', v: '1' }] };
  const v2 = { name: 'n', list: [{ name: 'a', v: '2' }, { name: 'b', proto: 'UDP', v: '1' }] };
  const results = new Set<string>();
  for (const defs of [defsA, defsB, defsA, defsB]) {
    const resolve = resolver(defs);
    const mf = track('two registries: create', { old: undefined, updated: v1, manager: 'a', apiVersion: 'v1', now: TIMES[0], schema, resolve });
    const after = track('two registries: update', { old: withManaged(v1, mf), updated: withManaged(v2, mf), manager: 'b', apiVersion: 'v1', now: TIMES[1], schema, resolve });
    results.add(JSON.stringify(after));
    const applied = outcome(() => serverSideApply({ live: withManaged(v1, mf), applied: v2, manager: 'c', schema, resolve, apiVersion: 'v1', now: TIMES[2] }));
    same('two registries: apply', outcome(() => referenceServerSideApply({ live: withManaged(v1, mf), applied: v2, manager: 'c', schema, resolve, apiVersion: 'v1', now: TIMES[2] })), applied, v2);
  }
  assert.equal(results.size, 2, 'the two registries give different ownership');
});
