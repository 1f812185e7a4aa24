// The kubelet's environment rules without a cluster: $(VAR) expansion,
// envFrom/env order and overrides, fieldRef and resourceFieldRef values,
// optional and missing ConfigMaps/Secrets with the kubelet's messages.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../src/apis/types.js';
import { resolveArgs } from '../../src/agent/container-spec.js';
import { ContainerConfigError, containerEnv, expand, mergeImageEnv, resourceFieldValue, type ConfigSource } from '../../src/agent/env-resolver.js';

const lookup = (m: Record<string, string>) => (n: string) => m[n];

describe('expand', () => {
  it('follows third_party/forked/golang/expansion', () => {
    const vars = lookup({ A: 'a', EMPTY: '' });
    assert.equal(expand('$(A)-$(A)', vars), 'a-a');
    assert.equal(expand('$(MISSING)', vars), '$(MISSING)');
    assert.equal(expand('$$(A)', vars), '$(A)');
    assert.equal(expand('$$', vars), '$');
    assert.equal(expand('$x$', vars), '$x$');
    assert.equal(expand('$(A', vars), '$(A');
    assert.equal(expand('x$(EMPTY)y', vars), 'xy');
    assert.equal(expand('$()', vars), '$()');
  });
});

const pod = (containers: unknown[]): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', namespace: 'ns', uid: 'u-1', labels: { app: 'x' } },
  spec: { nodeName: 'n1', containers },
  status: {},
});

const source = (objs: Record<string, KubeObject>): ConfigSource => ({
  configMap: async (ns, name) => objs[`cm/${ns}/${name}`],
  secret: async (ns, name) => objs[`secret/${ns}/${name}`],
});

describe('containerEnv', () => {
  it('applies envFrom then env in order, later entries winning', async () => {
    const c = {
      name: 'c',
      envFrom: [{ configMapRef: { name: 'cm' }, prefix: 'P_' }, { secretRef: { name: 's' } }],
      env: [
        { name: 'P_a', value: 'override' },
        { name: 'X', value: '$(P_a)/$(tok)/$(LATER)' },
        { name: 'LATER', value: 'l' },
        { name: 'L', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
        { name: 'MISSING_LABEL', valueFrom: { fieldRef: { fieldPath: "metadata.labels['nope']" } } },
      ],
    };
    const env = await containerEnv(c, {
      pod: pod([c]),
      hostIP: '10.0.0.1',
      source: source({
        'cm/ns/cm': { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm' }, data: { a: '1', 'not valid': '2' } } as KubeObject,
        'secret/ns/s': { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { tok: Buffer.from('sec').toString('base64') } } as KubeObject,
      }),
    });
    assert.deepEqual([...env], [
      ['P_a', 'override'],
      ['tok', 'sec'],
      ['X', 'override/sec/$(LATER)'],
      ['LATER', 'l'],
      ['L', 'x'],
      ['MISSING_LABEL', ''],
    ]);
    assert.deepEqual(resolveArgs({ name: 'c', image: 'i', command: ['echo', '$(LATER)', '$(PATH)'] }, {}, env), ['echo', 'l', '$(PATH)']);
    assert.deepEqual(mergeImageEnv({ env: ['PATH=/bin', 'tok=image'] }, env).slice(0, 2), ['PATH=/bin', 'tok=sec']);
  });

  it('reports missing objects and keys the kubelet way, unless optional', async () => {
    const ctx = { pod: pod([]), hostIP: '', source: source({ 'cm/ns/cm': { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm' }, data: {} } as KubeObject }) };
    await assert.rejects(containerEnv({ name: 'c', env: [{ name: 'A', valueFrom: { configMapKeyRef: { name: 'x', key: 'k' } } }] }, ctx), (e: Error) => e instanceof ContainerConfigError && e.message === 'configmap "x" not found');
    await assert.rejects(containerEnv({ name: 'c', envFrom: [{ secretRef: { name: 's' } }] }, ctx), { message: 'secret "s" not found' });
    await assert.rejects(containerEnv({ name: 'c', env: [{ name: 'A', valueFrom: { configMapKeyRef: { name: 'cm', key: 'k' } } }] }, ctx), { message: "couldn't find key k in ConfigMap ns/cm" });
    const env = await containerEnv(
      { name: 'c', envFrom: [{ secretRef: { name: 's', optional: true } }], env: [{ name: 'A', valueFrom: { configMapKeyRef: { name: 'cm', key: 'k', optional: true } } }] },
      ctx,
    );
    assert.equal(env.size, 0);
  });
});

describe('resourceFieldValue', () => {
  const p = pod([{ name: 'c', resources: { limits: { cpu: '250m', memory: '64Mi' }, requests: { cpu: '100m', memory: '1000' } } }]);
  it('divides and rounds up like the kubelet', () => {
    assert.equal(resourceFieldValue(p, 'c', { resource: 'limits.cpu' }), '1');
    assert.equal(resourceFieldValue(p, 'c', { resource: 'limits.cpu', divisor: '1m' }), '250');
    assert.equal(resourceFieldValue(p, 'c', { resource: 'requests.cpu', divisor: '1m' }), '100');
    assert.equal(resourceFieldValue(p, 'c', { resource: 'limits.memory', divisor: '1Mi' }), '64');
    assert.equal(resourceFieldValue(p, 'c', { resource: 'requests.memory', divisor: '1Ki' }), '1');
  });
  it('uses the node capacity for an unset limit', () => {
    const q = pod([{ name: 'c' }]);
    assert.ok(Number(resourceFieldValue(q, 'c', { resource: 'limits.cpu' })) >= 1);
    assert.equal(resourceFieldValue(q, 'c', { resource: 'requests.cpu' }), '0');
  });
});
