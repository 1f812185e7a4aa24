import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PatchError, applyStrategicMergePatch } from '../../src/api/patch/index.js';
import { frozen, pod, podSchema, resolve } from './fixtures.js';

type Obj = Record<string, unknown>;
const smp = (original: unknown, patch: unknown) => applyStrategicMergePatch(frozen(original), frozen(patch), podSchema, resolve) as Obj;
const spec = (o: Obj) => o.spec as Obj;
const names = (list: unknown) => (list as Array<{ name: string }>).map((c) => c.name);

const base = () =>
  pod(
    {
      containers: [
        {
          name: 'app',
          image: 'app:1',
          env: [
            { name: 'A', value: '1' },
            { name: 'B', value: '2' },
          ],
          ports: [{ containerPort: 80, protocol: 'TCP', name: 'http' }],
        },
        { name: 'sidecar', image: 'proxy:1' },
      ],
      volumes: [{ name: 'cache', emptyDir: { medium: 'Memory' } }],
      tolerations: [{ key: 'a', operator: 'Exists' }],
      nodeSelector: { disk: 'ssd', zone: 'a' },
    },
    { labels: { app: 'web', tier: 'front' }, finalizers: ['a.example/x', 'b.example/y'] },
  );

function fails(f: () => unknown, code: 400 | 422, fragment: string): void {
  assert.throws(f, (e: unknown) => e instanceof PatchError && e.code === code && e.message.includes(fragment));
}

test('changing one container image leaves the others and the order alone', () => {
  const out = smp(base(), { spec: { containers: [{ name: 'sidecar', image: 'proxy:2' }] } });
  assert.deepEqual(spec(out).containers, [
    (spec(base()).containers as unknown[])[0],
    { name: 'sidecar', image: 'proxy:2' },
  ]);
});

test('a new container is merged in where Kubernetes puts it (before the server items), or last with $setElementOrder', () => {
  const plain = smp(base(), { spec: { containers: [{ name: 'log', image: 'fluent:1' }] } });
  assert.deepEqual(names(spec(plain).containers), ['log', 'app', 'sidecar']);

  const ordered = smp(base(), {
    spec: {
      '$setElementOrder/containers': [{ name: 'app' }, { name: 'sidecar' }, { name: 'log' }],
      containers: [{ name: 'log', image: 'fluent:1' }],
    },
  });
  assert.deepEqual(names(spec(ordered).containers), ['app', 'sidecar', 'log']);
  assert.deepEqual((spec(ordered).containers as Obj[])[2], { name: 'log', image: 'fluent:1' });
});

test('$patch: delete removes a container by its merge key', () => {
  const out = smp(base(), { spec: { containers: [{ name: 'sidecar', $patch: 'delete' }] } });
  assert.deepEqual(names(spec(out).containers), ['app']);
});

test('env merges by name: one changed, one added, one deleted', () => {
  const out = smp(base(), {
    spec: {
      containers: [
        {
          name: 'app',
          env: [
            { name: 'B', value: 'two' },
            { name: 'C', value: '3' },
            { name: 'A', $patch: 'delete' },
          ],
        },
      ],
    },
  });
  const app = (spec(out).containers as Obj[])[0];
  assert.deepEqual(app.env, [
    { name: 'B', value: 'two' },
    { name: 'C', value: '3' },
  ]);
  assert.equal(app.image, 'app:1');
});

test('ports merge by containerPort', () => {
  const out = smp(base(), {
    spec: { containers: [{ name: 'app', ports: [{ containerPort: 80, name: 'web' }, { containerPort: 443, name: 'https' }] }] },
  });
  const app = (spec(out).containers as Obj[])[0];
  assert.deepEqual(app.ports, [
    { containerPort: 80, protocol: 'TCP', name: 'web' },
    { containerPort: 443, name: 'https' },
  ]);
});

test('$setElementOrder reorders without changing items; server-only items stay near their neighbours', () => {
  const original = pod({ containers: ['a', 'b', 'x', 'c', 'd'].map((name) => ({ name })) });
  const out = smp(original, { spec: { '$setElementOrder/containers': [{ name: 'b' }, { name: 'a' }, { name: 'd' }, { name: 'c' }] } });
  assert.deepEqual(names(spec(out).containers), ['b', 'a', 'x', 'd', 'c']);
});

test('$setElementOrder must agree with the order of the patch list', () => {
  fails(
    () =>
      smp(base(), {
        spec: {
          '$setElementOrder/containers': [{ name: 'app' }, { name: 'sidecar' }],
          containers: [{ name: 'sidecar' }, { name: 'app' }],
        },
      }),
    400,
    '$setElementOrder',
  );
});

test('$retainKeys clears the fields of a volume that are not listed (switching its source)', () => {
  const out = smp(base(), {
    spec: {
      volumes: [{ name: 'cache', $retainKeys: ['hostPath', 'name'], hostPath: { path: '/var/cache' } }],
    },
  });
  assert.deepEqual(spec(out).volumes, [{ name: 'cache', hostPath: { path: '/var/cache' } }]);
  fails(() => smp(base(), { spec: { volumes: [{ name: 'cache', $retainKeys: ['name'], hostPath: { path: '/x' } }] } }), 400, 'hostPath');
});

test('finalizers: added as a set, removed with $deleteFromPrimitiveList', () => {
  const added = smp(base(), { metadata: { finalizers: ['b.example/y', 'c.example/z'] } });
  assert.deepEqual((added.metadata as Obj).finalizers, ['a.example/x', 'b.example/y', 'c.example/z']);

  const removed = smp(base(), { metadata: { '$deleteFromPrimitiveList/finalizers': ['a.example/x', 'not-there'] } });
  assert.deepEqual((removed.metadata as Obj).finalizers, ['b.example/y']);

  const noList = smp(pod({}), { metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] } });
  assert.equal((noList.metadata as Obj).finalizers, undefined);
});

test('null deletes a map key', () => {
  const out = smp(base(), { metadata: { labels: { tier: null, env: 'prod' } }, spec: { nodeSelector: null } });
  assert.deepEqual((out.metadata as Obj).labels, { app: 'web', env: 'prod' });
  assert.equal('nodeSelector' in spec(out), false);
});

test('$patch: replace on a map replaces it; $patch: delete empties it', () => {
  const replaced = smp(base(), { spec: { nodeSelector: { $patch: 'replace', gpu: 'yes' } } });
  assert.deepEqual(spec(replaced).nodeSelector, { gpu: 'yes' });
  const emptied = smp(base(), { spec: { nodeSelector: { $patch: 'delete' } } });
  assert.deepEqual(spec(emptied).nodeSelector, {});
  const merged = smp(base(), { spec: { nodeSelector: { $patch: 'merge', gpu: 'yes' } } });
  assert.deepEqual(spec(merged).nodeSelector, { disk: 'ssd', zone: 'a', gpu: 'yes' });
});

test('$patch: replace as a list item makes the list exactly the other items', () => {
  const out = smp(base(), { spec: { containers: [{ $patch: 'replace' }, { name: 'only', image: 'x' }] } });
  assert.deepEqual(spec(out).containers, [{ name: 'only', image: 'x' }]);
  const empty = smp(base(), { spec: { containers: [{ $patch: 'replace' }] } });
  assert.deepEqual(spec(empty).containers, []);
});

test('lists without a merge strategy are replaced', () => {
  const out = smp(base(), { spec: { tolerations: [{ key: 'b', operator: 'Equal', value: 'x' }] } });
  assert.deepEqual(spec(out).tolerations, [{ key: 'b', operator: 'Equal', value: 'x' }]);
});

test('untyped (preserve-unknown-fields) parts merge as plain JSON', () => {
  const original = { ...base(), status: { phase: 'Running', conditions: [{ type: 'Ready' }], hostIP: '10.0.0.1' } };
  const out = smp(original, { status: { phase: 'Failed', conditions: [{ type: 'Failed' }], hostIP: null, x: { $patch: 'delete' } } });
  assert.deepEqual(out.status, { phase: 'Failed', conditions: [{ type: 'Failed' }], x: { $patch: 'delete' } });
});

test('unknown and malformed directives are rejected', () => {
  fails(() => smp(base(), { spec: { nodeSelector: { $patch: 'frobnicate' } } }), 400, 'frobnicate');
  fails(() => smp(base(), { spec: { containers: [{ name: 'app', $patch: 'wat' }] } }), 400, 'wat');
  fails(() => smp(base(), { spec: { $frobnicate: true } }), 400, '$frobnicate');
  fails(() => smp(base(), { metadata: { '$deleteFromPrimitiveList/finalizers': 'a' } }), 400, 'must be a list');
  fails(() => smp(base(), { spec: { containers: [{ image: 'no-name' }] } }), 422, 'merge key: name');
  fails(() => smp(base(), [] as unknown), 400, 'JSON object');
});

test('a patch as kubectl apply computes it (with $setElementOrder for every merged list)', () => {
  const out = smp(base(), {
    metadata: { labels: { tier: 'back' } },
    spec: {
      '$setElementOrder/containers': [{ name: 'app' }, { name: 'sidecar' }],
      containers: [
        {
          name: 'app',
          '$setElementOrder/env': [{ name: 'A' }, { name: 'B' }],
          env: [{ name: 'B', value: '22' }],
        },
      ],
    },
  });
  const app = (spec(out).containers as Obj[])[0];
  assert.deepEqual(app.env, [
    { name: 'A', value: '1' },
    { name: 'B', value: '22' },
  ]);
  assert.deepEqual(names(spec(out).containers), ['app', 'sidecar']);
  assert.deepEqual((out.metadata as Obj).labels, { app: 'web', tier: 'back' });
});

test('new values from the patch lose their directives and nulls', () => {
  const out = smp(pod({}), {
    spec: {
      containers: [{ name: 'a', env: [{ name: 'X', value: null }, { name: 'Y', $patch: 'delete' }] }],
      nodeSelector: { a: null, b: '1' },
    },
  });
  assert.deepEqual(spec(out), { containers: [{ name: 'a', env: [{ name: 'X' }] }], nodeSelector: { b: '1' } });
});

test('the original and the patch are not modified and share nothing with the result', () => {
  const original = base();
  const patch = { spec: { containers: [{ name: 'app', env: [{ name: 'Z', value: '9' }] }] } };
  const out = applyStrategicMergePatch(original, patch, podSchema, resolve) as Obj;
  ((spec(out).containers as Obj[])[0].env as Obj[]).push({ name: 'W' });
  assert.deepEqual(original, base());
  assert.deepEqual(patch, { spec: { containers: [{ name: 'app', env: [{ name: 'Z', value: '9' }] }] } });
});

test('__proto__ keys in a patch never reach a prototype', () => {
  const patch = JSON.parse('{"metadata": {"__proto__": {"polluted": true}, "labels": {"__proto__": {"polluted": true}}}, "status": {"__proto__": {"polluted": true}}}') as unknown;
  const out = applyStrategicMergePatch(base(), patch, podSchema, resolve) as Obj;
  assert.equal(({} as Obj).polluted, undefined);
  assert.equal(Object.getPrototypeOf(out.metadata), Object.prototype);
});
