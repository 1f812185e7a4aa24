// Microbenchmark of ownership bookkeeping (metadata.managedFields), the
// biggest single cost of a create in the API bench's CPU profile.
//
//   npx tsc -p tsconfig.json && node dist/bench/managed-fields.js [--ms 1500]
//
// Every case runs twice: "before" is the implementation as it was before it
// was optimized (kept as the test oracle in test/patch/reference/), "after"
// is src/api/patch. Both get the same inputs, called as the API server calls
// them (src/api/resources/patching.ts): objects as stored after admission
// (schema defaults, Pod defaults), status ignored on the main resource, the
// server-set metadata already in place. Each call gets its own deep copies
// (the server's old and new objects never share subtrees either), so no
// reference-equality shortcut flatters the figures. Before timing, each
// case's outputs are checked equal between the two implementations.
import assert from 'node:assert/strict';
import { parseArgs } from 'node:util';
import { registry } from '../src/apis/registry.js';
import { apiVersionOf, type KubeObject, type ManagedFieldsEntry, type ResourceType } from '../src/apis/types.js';
import { SchemaValidator } from '../src/api/admission/schema-validator.js';
import { admit } from '../src/api/resources/admit.js';
import { serverSideApply, trackUpdate, type ApplyOptions, type TrackUpdateOptions } from '../src/api/patch/index.js';
import { referenceServerSideApply, referenceTrackUpdate } from '../test/patch/reference-track.js';
import { podManifest as apiBenchPod } from './api.js';

type Obj = Record<string, unknown>;

const reg = registry();
const validator = new SchemaValidator(reg);
const resolve = reg.resolve.bind(reg);

function kind(apiVersion: string, k: string): ResourceType {
  const rt = reg.kind(apiVersion, k);
  if (!rt) throw new Error(`no kind ${apiVersion}/${k}`);
  return rt;
}
const POD = kind('v1', 'Pod');
const DEPLOYMENT = kind('apps/v1', 'Deployment');

/** A pod spec as people write them: a container with probes, env, ports, resources, mounts; two volumes. */
function podSpec(image: string): Obj {
  return {
    containers: [
      {
        name: 'web',
        image,
        command: ['/bin/web'],
        args: ['--listen=:8080', '--log-level=info', '--config=/etc/web/config.yaml'],
        ports: [
          { name: 'http', containerPort: 8080, protocol: 'TCP' },
          { name: 'metrics', containerPort: 9102, protocol: 'TCP' },
        ],
        env: [
          { name: 'MODE', value: 'production' },
          { name: 'CACHE_SIZE', value: '512' },
          { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
        ],
        resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
        volumeMounts: [
          { name: 'config', mountPath: '/etc/web', readOnly: true },
          { name: 'cache', mountPath: '/var/cache/web' },
        ],
        readinessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 5 },
        livenessProbe: { httpGet: { path: '/livez', port: 8080 }, initialDelaySeconds: 10, periodSeconds: 10, failureThreshold: 3 },
      },
    ],
    volumes: [
      { name: 'config', configMap: { name: 'web-config' } },
      { name: 'cache', emptyDir: { sizeLimit: '1Gi' } },
    ],
    nodeSelector: { 'kubernetes.io/os': 'linux' },
    tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'web', effect: 'NoSchedule' }],
    restartPolicy: 'Always',
    terminationGracePeriodSeconds: 30,
  };
}

const labels = { app: 'bench-web', tier: 'frontend', release: 'stable' };
const annotations = { 'bench.lodge.dev/purpose': 'managed fields', 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9102' };

function podManifest(): Obj {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-0', namespace: 'default', labels, annotations }, spec: podSpec('registry.example.com/team/web:1.24.3') };
}

function deploymentManifest(image = 'registry.example.com/team/web:1.24.3'): Obj {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', labels, annotations },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: 'bench-web' } },
      template: { metadata: { labels }, spec: podSpec(image) },
    },
  };
}

/** What the API server stores on create (before managedFields): admitted, with server metadata. */
function stored(rt: ResourceType, manifest: Obj): KubeObject {
  const obj = structuredClone(manifest) as unknown as KubeObject;
  Object.assign(obj.metadata, { uid: '4f1c2a55-0d6e-4b8e-9a53-1d8f0c1b7e21', creationTimestamp: '2026-01-01T00:00:00Z', generation: 1 });
  admit(validator, rt, obj, { fieldValidation: 'Strict', warnings: [] });
  return obj;
}

/** trackUpdate as managedFieldsForWrite calls it. */
function trackOptions(rt: ResourceType, old: KubeObject | undefined, next: KubeObject, manager: string, existing: ManagedFieldsEntry[] | undefined): TrackUpdateOptions {
  return {
    old: old ? { ...old, metadata: { ...old.metadata, managedFields: existing } } : undefined,
    updated: { ...next, metadata: { ...next.metadata, managedFields: existing } },
    manager,
    operation: 'Update',
    apiVersion: apiVersionOf(rt),
    now: '2026-01-02T00:00:00Z',
    schema: reg.definitions[rt.definition],
    resolve,
    ignoreFields: rt.statusSubresource ? [['status']] : undefined,
  };
}

interface Case {
  name: string;
  /** Fresh inputs for one call (deep copies). */
  make: () => () => unknown;
  makeReference: () => () => unknown;
}

function trackCase(name: string, rt: ResourceType, old: KubeObject | undefined, next: KubeObject, manager: string, existing: ManagedFieldsEntry[] | undefined): Case {
  const input = () => trackOptions(rt, old && structuredClone(old), structuredClone(next), manager, existing && structuredClone(existing));
  return {
    name,
    make: () => {
      const o = input();
      return () => trackUpdate(o);
    },
    makeReference: () => {
      const o = input();
      return () => referenceTrackUpdate(o);
    },
  };
}

function applyCase(name: string, rt: ResourceType, live: KubeObject | undefined, applied: Obj, manager: string, force: boolean): Case {
  const input = (): ApplyOptions => ({
    live: live && structuredClone(live),
    applied: structuredClone(applied),
    manager,
    force,
    schema: reg.definitions[rt.definition],
    resolve,
    apiVersion: apiVersionOf(rt),
    now: '2026-01-02T00:00:00Z',
    ignoreFields: rt.statusSubresource ? [['status']] : undefined,
  });
  return {
    name,
    make: () => {
      const o = input();
      return () => serverSideApply(o);
    },
    makeReference: () => {
      const o = input();
      return () => referenceServerSideApply(o);
    },
  };
}

/** The objects each case starts from, built the way the server builds them. */
function cases(): { list: Case[]; sizes: string[] } {
  const sizes: string[] = [];
  const out: Case[] = [];
  {
    // The API bench's own workload (bench/api.ts), the create the CPU profile measured.
    const fresh = stored(POD, apiBenchPod('web-0', 'default', 0) as Obj);
    const created = { ...fresh, metadata: { ...fresh.metadata, managedFields: trackUpdate(trackOptions(POD, undefined, fresh, 'bench', undefined)) } };
    sizes.push(`API bench Pod: manifest ${JSON.stringify(apiBenchPod('web-0', 'default', 0)).length} B, stored ${JSON.stringify(created).length} B`);
    out.push(trackCase('API bench Pod create', POD, undefined, fresh, 'bench', undefined));
  }
  for (const [rt, manifest] of [
    [POD, podManifest()],
    [DEPLOYMENT, deploymentManifest()],
  ] as const) {
    const kindName = rt.kind;
    const fresh = stored(rt, manifest);
    const created: KubeObject = { ...fresh, metadata: { ...fresh.metadata, managedFields: trackUpdate(trackOptions(rt, undefined, fresh, 'kubectl-create', undefined)), resourceVersion: '1001' } };
    sizes.push(`${kindName}: manifest ${JSON.stringify(manifest).length} B, stored ${JSON.stringify(created).length} B`);
    const existing = created.metadata.managedFields;

    // An update as PUT/PATCH leave it: resourceVersion cleared, generation moved on a spec change.
    const edit = (f: (o: KubeObject) => void, specChange: boolean): KubeObject => {
      const next = structuredClone(created);
      delete next.metadata.resourceVersion;
      if (specChange) next.metadata.generation = 2;
      f(next);
      return next;
    };
    const containers = (o: KubeObject): Obj[] => {
      const spec = (o as unknown as { spec: Obj }).spec;
      const podSpecOf = rt === POD ? spec : ((spec.template as Obj).spec as Obj);
      return podSpecOf.containers as Obj[];
    };
    const image = edit((o) => (containers(o)[0].image = 'registry.example.com/team/web:1.24.4'), true);
    const relabel = edit((o) => (o.metadata.labels = { ...o.metadata.labels, release: 'canary', track: 'beta' }), false);

    out.push(trackCase(`${kindName} create`, rt, undefined, fresh, 'kubectl-create', undefined));
    out.push(trackCase(`${kindName} update: one field (image)`, rt, created, image, 'kubectl-edit', existing));
    out.push(trackCase(`${kindName} update: labels`, rt, created, relabel, 'kubectl-label', existing));
    const appliedImage = structuredClone(manifest);
    const c0 = containers(appliedImage as unknown as KubeObject)[0];
    c0.image = 'registry.example.com/team/web:1.24.5';
    out.push(applyCase(`${kindName} apply: create`, rt, undefined, manifest, 'kubectl', false));
    out.push(applyCase(`${kindName} apply: change image over an update-managed object (forced)`, rt, created, appliedImage, 'kubectl', true));
  }
  return { list: out, sizes };
}

function normalize(v: unknown): string {
  // Errors compare by class name, message and conflicts; results by their JSON (key order included).
  return JSON.stringify(v);
}

function run(call: () => () => unknown): { ok: true; value: string } | { ok: false; value: string } {
  try {
    return { ok: true, value: normalize(call()()) };
  } catch (e) {
    const err = e as Error & { conflicts?: unknown };
    return { ok: false, value: JSON.stringify([err.name, err.message, err.conflicts]) };
  }
}

/**
 * µs per call of each implementation: medians of rounds, each timing `batch`
 * calls on inputs prepared outside the timed region. Rounds of the two
 * alternate, so that both see the same machine (other work on it varies).
 */
function measure(before: () => () => unknown, after: () => () => unknown, ms: number): [number, number] {
  const batch = 64;
  const round = (make: () => () => unknown): number => {
    const calls = Array.from({ length: batch }, make);
    const t0 = performance.now();
    for (const f of calls) f();
    return ((performance.now() - t0) * 1000) / batch;
  };
  for (let i = 0; i < 20; i++) round(before), round(after); // warm-up: let the JIT settle
  const a: number[] = [];
  const b: number[] = [];
  const until = performance.now() + 2 * ms;
  while (performance.now() < until || a.length < 5) {
    a.push(round(before));
    b.push(round(after));
  }
  const median = (x: number[]) => x.sort((p, q) => p - q)[Math.floor(x.length / 2)];
  return [median(a), median(b)];
}

function main(): void {
  const { values } = parseArgs({ options: { ms: { type: 'string', default: '1500' } } });
  const ms = Number(values.ms);
  const { list, sizes } = cases();
  for (const s of sizes) process.stdout.write(`# ${s}\n`);
  process.stdout.write(`\n| case | before µs/op | after µs/op | speed-up |\n|---|---:|---:|---:|\n`);
  for (const c of list) {
    const a = run(c.makeReference);
    const b = run(c.make);
    assert.deepEqual(b, a, `${c.name}: output differs from the reference`);
    const [before, after] = measure(c.makeReference, c.make, ms);
    process.stdout.write(`| ${c.name} | ${before.toFixed(1)} | ${after.toFixed(1)} | ${(before / after).toFixed(1)}× |\n`);
  }
}

main();
