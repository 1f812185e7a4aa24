// Images as a user sees them, against a real `lodge up` with its node agent:
// `lodge image import` of an OCI layout directory, an OCI archive and a
// rootfs tarball built here (two layers, whiteouts, a config with Cmd, Env
// and WorkingDir); `lodge image ls`; Pods running from each and seeing the
// config and the whiteouts; `lodge image rm` refused (409, naming the Pod)
// while a Pod uses the image and done after; a malformed file failing with
// its reason; `kubectl get images`.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { chmod, copyFile, mkdir, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { findStaticBusybox } from '../../src/agent/images/builtin.js';
import { run } from '../../src/agent/images/run.js';
import { tarOf, writeLayout } from '../agent/oci-fixtures.js';
import { api, kubectl, lodgeCli, parseTable, removeDir, shutdown, startLodge, waitFor, type Lodge, type RunResult } from './harness.js';
import { PodFixture, containerStatus } from './pod-fixture.js';

const NODE = `lodge-img-e2e-${process.pid}`;
const dataDir = mkdtempSync(join(tmpdir(), 'lodge-images-e2e-'));
const work = mkdtempSync(join(tmpdir(), 'lodge-images-e2e-files-'));
let lodge: Lodge | undefined;
const pods = new PodFixture(() => lodge, 'default', { terminationGracePeriodSeconds: 1 });

const cli = (args: string[]): RunResult => lodgeCli(lodge!, args, { timeoutMs: 120_000 });
const describeRun = (r: RunResult): string => `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
const storeRecord = (name: string): string => join(dataDir, 'images', 'images', `${name}.json`);

/** A minimal busybox tree: the static binary and the applets the Pods below use. */
async function busyboxTree(dir: string): Promise<void> {
  await mkdir(join(dir, 'bin'), { recursive: true });
  await copyFile(await findStaticBusybox(), join(dir, 'bin/busybox'));
  await chmod(join(dir, 'bin/busybox'), 0o755);
  for (const a of ['sh', 'ls', 'cat', 'sleep', 'pwd']) await symlink('busybox', join(dir, 'bin', a));
  for (const d of ['proc', 'sys', 'dev', 'tmp', 'etc']) await mkdir(join(dir, d), { recursive: true });
}

/** What the OCI image's Cmd prints: its cwd, an Env variable, and whether the upper layer's whiteouts took effect. */
const OCI_SCRIPT = 'echo "cwd=$(pwd) greeting=$GREETING"; if [ -e /etc/gone ]; then echo gone=present; else echo gone=absent; fi; echo "data=$(ls /data | tr "\\n" " ")"; cat /app/hello';

let layoutDir = '';
let archive = '';
let rootfsTar = '';
let malformedDir = '';

before(async () => {
  lodge = await startLodge({ dataDir, args: ['--node-name', NODE] });
  // Lower layer: busybox, /etc/gone, /data/old*. Upper: removes /etc/gone, makes /data opaque, adds /data/new and /app/hello.
  const l1 = join(work, 'l1');
  await busyboxTree(l1);
  await writeFile(join(l1, 'etc/gone'), 'gone\n');
  await writeFile(join(l1, 'etc/keep'), 'keep\n');
  await mkdir(join(l1, 'data'), { recursive: true });
  await writeFile(join(l1, 'data/old1'), 'old\n');
  await writeFile(join(l1, 'data/old2'), 'old\n');
  const l2 = join(work, 'l2');
  for (const d of ['etc', 'data', 'app']) await mkdir(join(l2, d), { recursive: true });
  await writeFile(join(l2, 'etc/.wh.gone'), '');
  await writeFile(join(l2, 'data/.wh..wh..opq'), '');
  await writeFile(join(l2, 'data/new'), 'new\n');
  await writeFile(join(l2, 'app/hello'), 'hello from layer two\n');
  const lower = await tarOf(l1, join(work, 'l1.tar'), false);
  const upper = await tarOf(l2, join(work, 'l2.tar'), false);
  const config = { Cmd: ['sh', '-c', OCI_SCRIPT], Env: ['PATH=/bin', 'GREETING=hello-oci'], WorkingDir: '/app' };
  layoutDir = join(work, 'layout');
  await writeLayout(layoutDir, [{ layers: [{ tar: lower, gzip: true }, { tar: upper, gzip: false }], config }]);
  // An OCI archive as podman save --format oci-archive writes it: a tar of the layout.
  archive = join(work, 'image.oci.tar');
  await run('tar', ['--create', `--file=${archive}`, `--directory=${layoutDir}`, '.']);
  // A rootfs tarball, gzipped.
  const r = join(work, 'rootfs');
  await busyboxTree(r);
  await writeFile(join(r, 'etc/motd'), 'from the rootfs tarball\n');
  rootfsTar = join(work, 'rootfs.tar.gz');
  await run('tar', ['--create', '--gzip', `--file=${rootfsTar}`, `--directory=${r}`, '--numeric-owner', '.']);
  // A directory that looks like a layout but whose index is not one.
  malformedDir = join(work, 'malformed');
  await mkdir(malformedDir);
  await writeFile(join(malformedDir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(join(malformedDir, 'index.json'), JSON.stringify({ schemaVersion: 2, oops: true }));
});

after(async () => {
  try {
    if (lodge && lodge.proc.exitCode === null && lodge.proc.signalCode === null) await pods.deleteAll();
  } finally {
    await shutdown(lodge, dataDir).catch(() => undefined);
    pods.sweepHost([dataDir]);
    removeDir(dataDir);
    removeDir(work);
  }
});

async function podLog(name: string): Promise<string> {
  const r = await api(lodge!, 'GET', `/api/v1/namespaces/default/pods/${name}/log`);
  assert.equal(r.status, 200, r.text);
  return r.text;
}

async function runToCompletion(name: string, image: string, extra: Record<string, unknown> = {}): Promise<string> {
  await pods.create(name, { containers: [{ name: 'c', image, ...extra }], restartPolicy: 'Never' });
  const pod = await pods.waitFor(name, 'finished', (p) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed' || containerStatus(p)?.state?.waiting?.reason === 'ErrImagePull', 90_000);
  const log = await podLog(name);
  assert.equal(pod.status.phase, 'Succeeded', `${JSON.stringify(pod.status)}\nlog:\n${log}`);
  return log;
}

describe('images', () => {
  test('the built-ins are registered: busybox Ready, debian listed until first use', async () => {
    const img = await waitFor('busybox Ready', async () => {
      const r = await api(lodge!, 'GET', '/apis/lodge.dev/v1alpha1/images/busybox');
      return r.status === 200 && r.json().status?.phase === 'Ready' ? r.json() : undefined;
    }, 60_000);
    assert.match(img.status.digest, /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual(img.status.nodes, [NODE]);
    const debian = (await api(lodge!, 'GET', '/apis/lodge.dev/v1alpha1/images/debian')).json();
    assert.deepEqual(debian.spec.source, { builtin: { name: 'debian', release: 'bookworm' } });
    assert.match(debian.status.phase, /^(Pending|Ready)$/);
  });

  test('the VM images are listed until built; lodge image build busybox-vm builds one now', async () => {
    const vm = await waitFor('busybox-vm registered', async () => {
      const r = await api(lodge!, 'GET', '/apis/lodge.dev/v1alpha1/images/busybox-vm');
      return r.status === 200 && r.json().status?.phase ? r.json() : undefined;
    }, 60_000);
    assert.equal(vm.spec.type, 'vm');
    assert.match(vm.status.phase, /^(Pending|Ready)$/);
    const built = cli(['image', 'build', 'busybox-vm', '--timeout', '10m']);
    assert.equal(built.code, 0, built.stderr);
    assert.match(built.stdout, /image.lodge.dev\/busybox-vm ready: sha256:[0-9a-f]{64} /);
    const img = (await api(lodge!, 'GET', '/apis/lodge.dev/v1alpha1/images/busybox-vm')).json();
    assert.equal(img.status.format, 'vm');
    assert.deepEqual(img.status.nodes, [NODE]);
    const row = parseTable(cli(['image', 'ls']).stdout).rows.find((r) => r.NAME === 'busybox-vm');
    assert.equal(row?.PHASE, 'Ready');
    // Not buildable this way, with the reason.
    const debian = cli(['image', 'build', 'debian']);
    assert.notEqual(debian.code, 0);
    assert.match(debian.stderr, /"debian" is built by the node itself/);
    const nope = cli(['image', 'build', 'nope']);
    assert.notEqual(nope.code, 0);
    assert.match(nope.stderr, /"nope" is not a built-in image; lodge image build builds busybox-vm, debian-vm/);
  });

  test('lodge image import: an OCI layout directory, an OCI archive and a rootfs tarball', () => {
    const dir = cli(['image', 'import', layoutDir, 'oci-dir']);
    assert.equal(dir.code, 0, describeRun(dir));
    assert.match(dir.stdout, /image\.lodge\.dev\/oci-dir ready: sha256:[0-9a-f]{64}/);
    const tar = cli(['image', 'import', archive, 'oci-tar']);
    assert.equal(tar.code, 0, describeRun(tar));
    assert.match(tar.stdout, /created \(OCI image /, 'the archive is detected as an OCI image');
    const rootfs = cli(['image', 'import', rootfsTar, 'rootfs-img']);
    assert.equal(rootfs.code, 0, describeRun(rootfs));
    assert.match(rootfs.stdout, /created \(rootfs tarball /);
    // The same image content twice has one digest.
    const digest = (s: string): string => /ready: (sha256:[0-9a-f]{64})/.exec(s)![1]!;
    assert.equal(digest(dir.stdout), digest(tar.stdout));

    const ls = cli(['image', 'ls']);
    assert.equal(ls.code, 0, describeRun(ls));
    const t = parseTable(ls.stdout);
    assert.deepEqual(t.columns, ['NAME', 'SOURCE', 'DIGEST', 'SIZE', 'PHASE', 'AGE']);
    const row = (n: string): Record<string, string> => {
      const r = t.rows.find((x) => x.NAME === n);
      assert.ok(r, `${n} in\n${ls.stdout}`);
      return r;
    };
    for (const n of ['oci-dir', 'oci-tar', 'rootfs-img', 'busybox']) assert.equal(row(n).PHASE, 'Ready', ls.stdout);
    assert.equal(row('oci-dir').SOURCE, `oci:${layoutDir}`);
    assert.equal(row('rootfs-img').SOURCE, `rootfs:${rootfsTar}`);
    assert.match(row('oci-dir').DIGEST, /^sha256:[0-9a-f]{12}$/);
    assert.match(row('rootfs-img').SIZE, /^[0-9.]+(Ki|Mi)$/);
    assert.ok(existsSync(storeRecord('oci-dir')) && existsSync(storeRecord('rootfs-img')), 'in the node store');

    const json = JSON.parse(cli(['image', 'ls', '-o', 'json']).stdout);
    assert.equal(json.kind, 'List');
    assert.ok(json.items.some((i: any) => i.metadata.name === 'oci-tar' && i.status.format === 'oci-layout'));
  });

  test('Pods run from each imported image with its config and whiteouts', async () => {
    for (const [pod, image] of [['from-dir', 'oci-dir'], ['from-tar', 'oci-tar:latest']]) {
      const log = await runToCompletion(pod, image);
      assert.match(log, /cwd=\/app greeting=hello-oci/, log);
      assert.match(log, /gone=absent/, 'the whiteout removed /etc/gone');
      assert.match(log, /data=new $/m, 'the opaque directory hides the lower layer');
      assert.match(log, /hello from layer two/);
    }
    const log = await runToCompletion('from-rootfs', 'rootfs-img', { command: ['sh', '-c', 'cat /etc/motd; pwd'] });
    assert.equal(log, 'from the rootfs tarball\n/\n');
  });

  test('rm is refused while a Pod uses the image, naming it, and works after', async () => {
    await pods.create('sleeper', { containers: [{ name: 'c', image: 'rootfs-img', command: ['sleep', '3600'] }], restartPolicy: 'Never' });
    await pods.waitFor('sleeper', 'running', (p) => containerStatus(p)?.state?.running !== undefined, 60_000);
    const refused = cli(['image', 'rm', 'rootfs-img']);
    assert.equal(refused.code, 1, describeRun(refused));
    assert.equal(refused.stderr.trim(), 'Error from server (Conflict): image "rootfs-img" is in use by pod default/sleeper');
    const viaApi = await api(lodge!, 'DELETE', '/apis/lodge.dev/v1alpha1/images/rootfs-img');
    assert.equal(viaApi.status, 409, viaApi.text);
    assert.equal(viaApi.json().reason, 'Conflict');
    const k = kubectl(lodge!, ['delete', 'image', 'rootfs-img']);
    assert.notEqual(k.code, 0);
    assert.match(k.stderr, /is in use by pod default\/sleeper/);

    await api(lodge!, 'DELETE', '/api/v1/namespaces/default/pods/sleeper');
    await waitFor('sleeper gone', async () => (await pods.get('sleeper')) === undefined, 60_000);
    const removed = cli(['image', 'rm', 'rootfs-img']);
    assert.equal(removed.code, 0, describeRun(removed));
    assert.equal(removed.stdout, 'image.lodge.dev "rootfs-img" deleted\n');
    // from-rootfs, finished, still holds it on the node (see below).
    await api(lodge!, 'DELETE', '/api/v1/namespaces/default/pods/from-rootfs');
    await waitFor('rootfs-img gone from the node store', async () => !existsSync(storeRecord('rootfs-img')), 30_000);
  });

  test('an image whose Pods finished can be removed; the node keeps it until they are gone', async () => {
    // from-dir ran to completion above: the API lets the Image go.
    const r = cli(['image', 'rm', 'oci-dir']);
    assert.equal(r.code, 0, describeRun(r));
    assert.ok(existsSync(storeRecord('oci-dir')), 'the node keeps the image while a Pod of it exists');
    await api(lodge!, 'DELETE', '/api/v1/namespaces/default/pods/from-dir');
    await waitFor('oci-dir gone from the node store', async () => !existsSync(storeRecord('oci-dir')), 30_000);
    // The other image of the same content keeps its layers.
    assert.ok(existsSync(storeRecord('oci-tar')));
  });

  test('a malformed image fails with its reason; a missing file too', async () => {
    const bad = cli(['image', 'import', malformedDir, 'broken']);
    assert.equal(bad.code, 1, describeRun(bad));
    assert.match(bad.stderr, /import of image "broken" failed: .*not an OCI image index \(no manifests list\)/);
    const ls = parseTable(cli(['image', 'ls']).stdout);
    assert.equal(ls.rows.find((x) => x.NAME === 'broken')?.PHASE, 'Failed');

    const garbage = join(work, 'garbage.bin');
    await writeFile(garbage, 'this is not an image\n'.repeat(50));
    const local = cli(['image', 'import', garbage, 'garbage']);
    assert.equal(local.code, 1);
    assert.match(local.stderr, /neither a tar archive nor gzip-compressed/);
    const missing = cli(['image', 'import', join(work, 'nope.tar'), 'nope']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no such file or directory\. The file is read by the node agent/);

    // Through the API, a path the node cannot read.
    const created = await api(lodge!, 'POST', '/apis/lodge.dev/v1alpha1/images', {
      body: JSON.stringify({ apiVersion: 'lodge.dev/v1alpha1', kind: 'Image', metadata: { name: 'elsewhere' }, spec: { source: { rootfs: { path: '/nonexistent/rootfs.tar' } } } }),
      contentType: 'application/json',
    });
    assert.equal(created.status, 201, created.text);
    const failed = await waitFor('elsewhere Failed', async () => {
      const img = (await api(lodge!, 'GET', '/apis/lodge.dev/v1alpha1/images/elsewhere')).json();
      return img.status?.phase === 'Failed' ? img : undefined;
    });
    const cond = failed.status.conditions.find((c: any) => c.type === 'Ready');
    assert.equal(cond.reason, 'FileNotFound');
    assert.match(cond.message, /cannot read \/nonexistent\/rootfs\.tar on node .*: no such file or directory/);
  });

  test('a Pod of an unknown image waits with ErrImagePull', async () => {
    await pods.create('unknown', { containers: [{ name: 'c', image: 'no-such-image' }], restartPolicy: 'Never' });
    const p = await pods.waitFor('unknown', 'ErrImagePull', (x) => containerStatus(x)?.state?.waiting?.reason === 'ErrImagePull');
    assert.match(containerStatus(p).state.waiting.message, /lodge image import/);
  });

  test('kubectl get images shows the columns', () => {
    const r = kubectl(lodge!, ['get', 'images']);
    assert.equal(r.code, 0, r.stderr);
    const t = parseTable(r.stdout);
    assert.deepEqual(t.columns, ['NAME', 'SOURCE', 'DIGEST', 'SIZE', 'PHASE', 'AGE']);
    const tar = t.rows.find((x) => x.NAME === 'oci-tar');
    assert.equal(tar?.PHASE, 'Ready');
    assert.equal(tar?.SOURCE, `oci:${archive}`);
    const wide = parseTable(kubectl(lodge!, ['get', 'img', '-o', 'wide']).stdout);
    assert.equal(wide.rows.find((x) => x.NAME === 'oci-tar')?.NODES, NODE);
    assert.match(wide.rows.find((x) => x.NAME === 'broken')?.MESSAGE ?? '', /no manifests list/);
  });
});
