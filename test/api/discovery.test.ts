import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  aggregatedDiscovery,
  apiGroup,
  apiGroupList,
  apiResourceList,
  apiVersions,
  compareKubeVersions,
  discoveryContentType,
  negotiateDiscovery,
  storageVersionHash,
  versionInfo,
} from '../../src/api/discovery.js';
import { Registry } from '../../src/apis/registry.js';
import { appsDefinitions, deployment, testRegistry } from './fixtures.js';

// What client-go's discovery client sends (kubectl 1.28+; 1.26/1.27 send only the v2beta1 clause first).
const KUBECTL_ACCEPT = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json';

// `any`: assertions walk deep into JSON documents; typing every level would add nothing.
type Json = Record<string, any>;

describe('versionInfo', () => {
  it('looks like a Kubernetes /version', () => {
    const v = versionInfo();
    assert.equal(v.major, '1');
    assert.equal(v.minor, '33');
    assert.match(v.gitVersion as string, /^v1\.33\.0-lodge$/);
    assert.match(v.platform as string, /^[a-z0-9]+\/[a-z0-9]+$/);
    for (const k of ['gitCommit', 'gitTreeState', 'buildDate', 'goVersion', 'compiler']) assert.equal(typeof v[k], 'string', k);
    assert.equal(versionInfo({ kubernetes: '1.30.2', build: 'lodge.3' }).gitVersion, 'v1.30.2-lodge.3');
  });
});

describe('negotiateDiscovery', () => {
  it('follows the client preference', () => {
    assert.equal(negotiateDiscovery(KUBECTL_ACCEPT), 'v2');
    assert.equal(negotiateDiscovery('application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json'), 'v2beta1');
    assert.equal(negotiateDiscovery('application/json'), 'legacy');
    assert.equal(negotiateDiscovery(undefined), 'legacy');
    assert.equal(negotiateDiscovery('*/*'), 'legacy');
  });

  it('ignores unknown parameters and skips what it cannot serve', () => {
    assert.equal(negotiateDiscovery('application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList;profile=nopeer,application/json'), 'v2');
    assert.equal(negotiateDiscovery('application/json;as=APIGroupDiscoveryList;v=v2;g=apidiscovery.k8s.io'), 'v2', 'parameter order does not matter');
    assert.equal(negotiateDiscovery('application/vnd.kubernetes.protobuf;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json'), 'legacy');
    assert.equal(negotiateDiscovery('application/json;g=apidiscovery.k8s.io;v=v3;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList'), 'v2beta1');
    assert.equal(negotiateDiscovery('application/json;q=0.5,application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList'), 'v2', 'q wins over order');
  });

  it('names the Content-Type client-go recognises', () => {
    assert.equal(discoveryContentType('v2'), 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList');
    assert.equal(discoveryContentType('v2beta1'), 'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList');
    assert.equal(discoveryContentType('legacy'), 'application/json');
  });
});

describe('legacy discovery', () => {
  const reg = testRegistry();

  it('serves /api and /apis', () => {
    assert.deepEqual(apiVersions(reg), { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] });
    assert.deepEqual((apiVersions(reg, '10.0.0.1:6443') as Json).serverAddressByClientCIDRs, [{ clientCIDR: '0.0.0.0/0', serverAddress: '10.0.0.1:6443' }]);
    const groups = apiGroupList(reg) as Json;
    assert.equal(groups.kind, 'APIGroupList');
    assert.deepEqual(
      groups.groups.map((g: Json) => g.name),
      ['apps', 'lodge.dev'],
    );
    assert.deepEqual(groups.groups[1], {
      name: 'lodge.dev',
      versions: [{ groupVersion: 'lodge.dev/v1alpha1', version: 'v1alpha1' }],
      preferredVersion: { groupVersion: 'lodge.dev/v1alpha1', version: 'v1alpha1' },
    });
    assert.equal((apiGroup(reg, 'apps') as Json).kind, 'APIGroup');
    assert.equal(apiGroup(reg, 'nope'), undefined);
    assert.equal(apiGroup(reg, ''), undefined);
  });

  it('serves resource lists with subresources', () => {
    const core = apiResourceList(reg, '', 'v1') as Json;
    assert.equal(core.kind, 'APIResourceList');
    assert.equal(core.groupVersion, 'v1');
    assert.deepEqual(
      core.resources.map((r: Json) => r.name),
      ['nodes', 'nodes/status', 'pods', 'pods/status'],
    );
    const pods = core.resources.find((r: Json) => r.name === 'pods');
    assert.deepEqual(pods, {
      name: 'pods',
      singularName: 'pod',
      namespaced: true,
      kind: 'Pod',
      verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
      shortNames: ['po'],
      categories: ['all'],
      storageVersionHash: 'xPOwRZ+Yhw8=', // what a real apiserver publishes for pods
    });
    assert.deepEqual(core.resources.find((r: Json) => r.name === 'pods/status'), { name: 'pods/status', singularName: '', namespaced: true, kind: 'Pod', verbs: ['get', 'patch', 'update'] });
    assert.equal((apiResourceList(reg, 'apps', 'v1') as Json).groupVersion, 'apps/v1');
    assert.equal(apiResourceList(reg, 'apps', 'v2'), undefined);
  });

  it('lets the server declare more subresources and verbs', () => {
    const list = apiResourceList(reg, 'apps', 'v1', {
      subresources: () => [
        { name: 'status', verbs: ['update', 'get', 'patch'] },
        { name: 'scale', kind: { group: 'autoscaling', version: 'v1', kind: 'Scale' }, verbs: ['get', 'patch', 'update'] },
      ],
      verbs: () => ['get', 'list'],
    }) as Json;
    assert.deepEqual(list.resources[0].verbs, ['get', 'list']);
    assert.deepEqual(list.resources[2], { name: 'deployments/scale', singularName: '', namespaced: true, kind: 'Scale', verbs: ['get', 'patch', 'update'], group: 'autoscaling', version: 'v1' });
  });
});

describe('aggregated discovery', () => {
  const reg = testRegistry();

  it('lists the core group at /api', () => {
    const doc = aggregatedDiscovery(reg, 'api', 'v2') as Json;
    assert.equal(doc.kind, 'APIGroupDiscoveryList');
    assert.equal(doc.apiVersion, 'apidiscovery.k8s.io/v2');
    assert.equal(doc.items.length, 1);
    assert.deepEqual(doc.items[0].metadata, {});
    const v1 = doc.items[0].versions[0];
    assert.equal(v1.version, 'v1');
    assert.equal(v1.freshness, 'Current');
    assert.deepEqual(v1.resources.find((r: Json) => r.resource === 'pods'), {
      resource: 'pods',
      responseKind: { group: '', version: 'v1', kind: 'Pod' },
      scope: 'Namespaced',
      singularResource: 'pod',
      verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
      shortNames: ['po'],
      categories: ['all'],
      subresources: [{ subresource: 'status', responseKind: { group: '', version: 'v1', kind: 'Pod' }, verbs: ['get', 'patch', 'update'] }],
    });
    assert.equal(v1.resources.find((r: Json) => r.resource === 'nodes').scope, 'Cluster');
  });

  it('lists the named groups at /apis, in either version', () => {
    for (const version of ['v2', 'v2beta1'] as const) {
      const doc = aggregatedDiscovery(reg, 'apis', version) as Json;
      assert.equal(doc.apiVersion, `apidiscovery.k8s.io/${version}`);
      assert.deepEqual(
        doc.items.map((g: Json) => g.metadata.name),
        ['apps', 'lodge.dev'],
      );
      const inst = doc.items[1].versions[0].resources[0];
      assert.equal(inst.resource, 'instances');
      assert.deepEqual(inst.responseKind, { group: 'lodge.dev', version: 'v1alpha1', kind: 'Instance' });
      assert.equal('subresources' in inst, false, 'no status subresource, no subresources field');
      assert.equal('categories' in inst, false);
    }
  });

  it('orders versions preferred first', () => {
    const beta = { ...deployment, version: 'v1beta1' };
    const r = new Registry([{ definitions: appsDefinitions, kinds: [beta, deployment] }]);
    const doc = aggregatedDiscovery(r, 'apis') as Json;
    assert.deepEqual(
      doc.items[0].versions.map((v: Json) => v.version),
      ['v1', 'v1beta1'],
    );
    assert.equal((apiGroupList(r) as Json).groups[0].preferredVersion.version, 'v1');
  });
});

describe('helpers', () => {
  it('sorts versions like Kubernetes', () => {
    const versions = ['v1alpha1', 'v1beta1', 'v2', 'foo', 'v1', 'v1beta2', 'v2alpha1', 'bar'];
    assert.deepEqual([...versions].sort(compareKubeVersions), ['v2', 'v1', 'v1beta2', 'v1beta1', 'v2alpha1', 'v1alpha1', 'bar', 'foo']);
  });

  it('computes storage version hashes', () => {
    assert.equal(storageVersionHash('', 'v1', 'Pod'), 'xPOwRZ+Yhw8=');
  });
});
