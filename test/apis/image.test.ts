// The Image kind's pieces that need no server: which Image a container's
// image reference names, who keeps an Image from being deleted, and the
// human cells of its table.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { humanBytes, image, imageNameForReference, shortDigest } from '../../src/apis/lodge/v1alpha1/image.js';
import type { KubeObject, ObjectLookup } from '../../src/apis/types.js';

const pod = (name: string, images: string[], phase = 'Running', init: string[] = []): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'default' },
  spec: { containers: images.map((i, n) => ({ name: `c${n}`, image: i })), initContainers: init.map((i, n) => ({ name: `i${n}`, image: i })) },
  status: { phase },
});

function lookup(objs: Record<string, KubeObject[]>): ObjectLookup {
  return { list: async (_g, _v, plural) => objs[plural] ?? [] };
}

const img = (name: string): KubeObject => ({ apiVersion: 'lodge.dev/v1alpha1', kind: 'Image', metadata: { name }, spec: { source: { rootfs: { path: '/x.tar' } } } });

describe('Image', () => {
  it('maps container image references to Image names', () => {
    assert.equal(imageNameForReference('web'), 'web');
    assert.equal(imageNameForReference('web:latest'), 'web');
    assert.equal(imageNameForReference('web:1.2'), 'web:1.2');
    assert.equal(imageNameForReference('busybox:1.36'), 'busybox');
    assert.equal(imageNameForReference('debian:bookworm'), 'debian');
    assert.equal(imageNameForReference('debian:bullseye'), 'debian:bullseye');
    assert.equal(imageNameForReference('localhost:5000/web'), 'localhost:5000/web');
  });

  it('is in use by unfinished Pods and by Instances', async () => {
    const users = await image.deletion!.inUseBy!(
      img('web'),
      lookup({
        pods: [pod('a', ['web']), pod('b', ['other', 'web:latest']), pod('done', ['web'], 'Succeeded'), pod('c', ['x'], 'Pending', ['web']), pod('d', ['web:2'])],
        instances: [{ apiVersion: 'lodge.dev/v1alpha1', kind: 'Instance', metadata: { name: 'vm', namespace: 'prod' }, spec: { type: 'container', image: 'web' } }],
      }),
    );
    assert.deepEqual(users, ['pod default/a', 'pod default/b', 'pod default/c', 'instance prod/vm']);
    assert.deepEqual(await image.deletion!.inUseBy!(img('free'), lookup({ pods: [pod('a', ['web'])] })), []);
  });

  it('prints sizes and digests short', () => {
    assert.equal(humanBytes(512), '512');
    assert.equal(humanBytes(1536), '1.5Ki');
    assert.equal(humanBytes(46_200_000), '44Mi');
    assert.equal(humanBytes(undefined), '');
    assert.equal(shortDigest(`sha256:${'ab'.repeat(32)}`), 'sha256:abababababab');
  });
});
