// `lodge publish`: an instance becomes an Image (a template) that `lodge
// launch` starts new instances from, end to end against a real `lodge up`.
// A system container is published from its stopped current disk (what the
// guest wrote is there, what it deleted from the image stays deleted) and
// from a snapshot taken while it ran; publishing a running one's current
// disk is refused with the node's reason. A VM (busybox-vm, TCG where there
// is no KVM) is published from a snapshot. Each image outlives its source
// instance. Checks are on content and states, never timings.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { api, waitFor } from './harness.js';
import { useWorkloadLodge } from './workload-lodge.js';

const t = useWorkloadLodge('lodge-pub-', `lodge-pub-${process.pid}`);
const { instances, cli, dataDir } = t;
const NS = 'default';

const read = (name: string, path: string): string => cli('exec', name, '--', 'cat', path).trim();
const exists = (name: string, path: string): boolean => t.run(['exec', name, '--', 'test', '-e', path]).code === 0;

async function getImage(name: string): Promise<any | undefined> {
  const r = await api(t.lodge, 'GET', `/apis/lodge.dev/v1alpha1/images/${name}`);
  if (r.status === 404) return undefined;
  assert.equal(r.status, 200, r.text);
  return r.json();
}

/** A Snapshot object through the API (what `lodge snapshot create NAME SNAP` makes), Ready. */
async function snapshot(instance: string, snap: string): Promise<any> {
  const name = `${instance}.${snap}`;
  const body = { apiVersion: 'lodge.dev/v1alpha1', kind: 'Snapshot', metadata: { name, namespace: NS, labels: { 'lodge.dev/instance': instance } }, spec: { instanceName: instance } };
  const r = await api(t.lodge, 'POST', `/apis/lodge.dev/v1alpha1/namespaces/${NS}/snapshots`, { body: JSON.stringify(body), contentType: 'application/json' });
  assert.equal(r.status, 201, r.text);
  return waitFor(
    `snapshot ${name} Ready`,
    async () => {
      const s = (await api(t.lodge, 'GET', `/apis/lodge.dev/v1alpha1/namespaces/${NS}/snapshots/${name}`)).json();
      if (s.status?.phase === 'Failed') throw new Error(`snapshot ${name} failed: ${s.status.message}`);
      return s.status?.phase === 'Ready' ? s : undefined;
    },
    180_000,
    250,
  );
}

async function deleteInstance(name: string): Promise<void> {
  cli('delete', 'instance', name);
  await waitFor(`${name} gone`, async () => (await instances.get(name)) === undefined, 180_000, 250);
}

describe('lodge publish: system containers', () => {
  test('a stopped container and a snapshot of a running one become images; launch from them; they outlive the source', async () => {
    cli('launch', 'busybox', 'c1');
    cli('exec', 'c1', '--', 'sh', '-c', 'echo hi > /root/marker && rm /etc/group && echo 0123456789abcdef0123456789abcdef > /etc/machine-id');

    // The current disk of a running instance: refused by its node, with the way out; no Image is left behind.
    const running = t.run(['publish', 'c1', 'tpl-running']);
    assert.notEqual(running.code, 0, running.stdout);
    assert.match(running.stderr, /instance default\/c1 is Running, not Stopped: publish a stopped instance \(lodge stop c1\), or a snapshot of a running one/);
    assert.equal(await getImage('tpl-running'), undefined, 'the failed Image is removed');

    // A snapshot of the running one, then a change after it.
    await snapshot('c1', 's1');
    cli('exec', 'c1', '--', 'sh', '-c', 'echo later > /root/after-snapshot');
    const fromSnap = cli('publish', 'c1/s1', 'tpl-snap');
    assert.match(fromSnap, /image\.lodge\.dev\/tpl-snap published: sha256:[0-9a-f]{64}/, fromSnap);

    cli('stop', 'c1');
    const out = cli('publish', 'c1', 'tpl-c');
    assert.match(out, /image\.lodge\.dev\/tpl-c published: sha256:[0-9a-f]{64}/, out);
    const img = await getImage('tpl-c');
    assert.equal(img.status.phase, 'Ready');
    assert.equal(img.spec.type, 'container');
    assert.deepEqual(img.spec.source.publish, { instanceName: 'c1', namespace: NS });
    assert.match(img.status.digest, /^sha256:[0-9a-f]{64}$/);
    assert.ok(Number(img.status.size) > 0);
    assert.equal(img.status.format, 'rootfs');
    assert.match(cli('image', 'ls'), /^tpl-c\s+publish:default\/c1\s/m);

    // Same name again: a clear error.
    const dup = t.run(['publish', 'c1', 'tpl-c']);
    assert.notEqual(dup.code, 0);
    assert.match(dup.stderr, /image "tpl-c" already exists/);

    cli('launch', 'tpl-c', 'c2');
    assert.equal(read('c2', '/root/marker'), 'hi', 'what the guest wrote is in the image');
    assert.equal(exists('c2', '/etc/group'), false, 'what the guest deleted from the image stays deleted (the whiteout is applied)');
    assert.equal(exists('c2', '/etc/passwd'), true, 'the image layers under the instance are in it');
    assert.equal(read('c2', '/etc/machine-id'), '', 'each instance of a template gets its own machine id');
    assert.equal(exists('c2', '/root/after-snapshot'), true);

    cli('launch', 'tpl-snap', 'c3');
    assert.equal(read('c3', '/root/marker'), 'hi');
    assert.equal(exists('c3', '/root/after-snapshot'), false, 'the snapshot image has the disk as it was at the snapshot');

    // The source goes; the images stay usable.
    await deleteInstance('c1');
    cli('launch', 'tpl-c', 'c4');
    assert.equal(read('c4', '/root/marker'), 'hi');
    cli('stop', 'c2');
    cli('start', 'c2');
    assert.equal(read('c2', '/root/marker'), 'hi');

    for (const n of ['c2', 'c3', 'c4']) await deleteInstance(n);
    cli('image', 'rm', 'tpl-c', 'tpl-snap');
    assert.equal(readFileSync('/proc/self/mountinfo', 'utf8').includes(join(dataDir, 'publish')), false, 'no publish mount is left');
  });

  test('an instance that does not exist, or a snapshot that does not: clear errors', async () => {
    const none = t.run(['publish', 'nosuch', 'tpl-x']);
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /instance "nosuch" not found in namespace "default"/);
    cli('launch', 'busybox', 'c5');
    const noSnap = t.run(['publish', 'c5/nope', 'tpl-x']);
    assert.notEqual(noSnap.code, 0);
    assert.match(noSnap.stderr, /snapshot nope of instance default\/c5 not found/);
    assert.equal(await getImage('tpl-x'), undefined);
    await deleteInstance('c5');
  });
});

describe('lodge publish: VMs', () => {
  test('a snapshot of a running VM becomes a standalone VM image that boots after the source is gone', async () => {
    cli('launch', 'busybox-vm', 'vm1', '--vm', '--memory', '256MiB', '--timeout', '10m');
    cli('exec', 'vm1', '--', 'sh', '-c', 'echo hi > /root/marker && sync');
    await snapshot('vm1', 's1');
    const out = cli('publish', 'vm1/s1', 'tpl-vm');
    assert.match(out, /image\.lodge\.dev\/tpl-vm published: sha256:[0-9a-f]{64}/, out);
    const img = await getImage('tpl-vm');
    assert.equal(img.spec.type, 'vm');
    assert.equal(img.status.format, 'vm');
    // One standalone disk: no backing file into the instance or its image.
    const disk = join(dataDir, 'images', 'vm', 'tpl-vm', 'disk.qcow2');
    assert.ok(existsSync(disk));
    const info = JSON.parse(execFileSync('qemu-img', ['info', '-U', '--output', 'json', disk], { encoding: 'utf8' }));
    assert.equal(info['backing-filename'], undefined, 'the published disk has no backing file');

    // The current disk of the running VM is refused.
    const running = t.run(['publish', 'vm1', 'tpl-vm-running']);
    assert.notEqual(running.code, 0);
    assert.match(running.stderr, /is Running, not Stopped/);

    await deleteInstance('vm1');
    cli('launch', 'tpl-vm', 'vm2', '--vm', '--memory', '256MiB', '--timeout', '10m');
    assert.equal(read('vm2', '/root/marker'), 'hi', 'what the guest wrote before the snapshot is in the image');
    assert.equal(read('vm2', '/proc/sys/kernel/hostname'), 'vm2', 'a new instance, with its own first boot');
    await deleteInstance('vm2');
    cli('image', 'rm', 'tpl-vm');
  });
});
