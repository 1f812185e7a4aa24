// The node's image store against the real thing: layers unpacked as root,
// overlayfs whiteouts made with mknod and trusted.* xattrs, and the merged
// view checked through a real overlay mount. Needs root (as the agent does).
import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, link, chmod, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { ImageInUseError, ImageNotFoundError, ImageStore, DigestMismatchError } from '../../src/agent/images/index.js';
import { sha256 } from '../../src/agent/images/digest.js';
import { hostArchitecture, MEDIA } from '../../src/agent/images/oci.js';
import { tarOf, writeLayout, type LayoutImage } from './oci-fixtures.js';
import { run } from '../../src/agent/images/run.js';
import { isStaticElf } from '../../src/agent/images/builtin.js';

let base = '';
let n = 0;
before(async () => {
  assert.equal(process.getuid?.(), 0, 'the image store tests need root (mknod, trusted.* xattrs, overlay mounts)');
  base = await mkdtemp(join(tmpdir(), 'lodge-images-test-'));
});
after(async () => {
  if (base) await rm(base, { recursive: true, force: true });
});

async function fresh(hint: string): Promise<string> {
  const d = join(base, `${hint}-${n++}`);
  await mkdir(d, { recursive: true });
  return d;
}

/** Two layers: the lower one a small tree, the upper one deleting a file and making a directory opaque. */
async function makeLayers(dir: string): Promise<{ lower: Buffer; upper: Buffer }> {
  const l1 = join(dir, 'l1');
  for (const d of ['etc', 'data/sub', 'bin', 'usr/lib', 'tmp']) await mkdir(join(l1, d), { recursive: true });
  await writeFile(join(l1, 'etc/keep'), 'keep\n');
  await writeFile(join(l1, 'etc/gone'), 'gone\n');
  await writeFile(join(l1, 'data/old1'), 'old1\n');
  await writeFile(join(l1, 'data/sub/old2'), 'old2\n');
  await writeFile(join(l1, 'bin/tool'), '#!/bin/sh\necho tool\n');
  await chmod(join(l1, 'bin/tool'), 0o4755);
  await link(join(l1, 'bin/tool'), join(l1, 'bin/tool2'));
  await symlink('/bin/busybox', join(l1, 'bin/sh'));
  await symlink('usr/lib', join(l1, 'lib'));
  await chmod(join(l1, 'tmp'), 0o1777);
  const l2 = join(dir, 'l2');
  await mkdir(join(l2, 'etc'), { recursive: true });
  await mkdir(join(l2, 'data'), { recursive: true });
  await writeFile(join(l2, 'etc/.wh.gone'), '');
  await writeFile(join(l2, 'etc/added'), 'added\n');
  await writeFile(join(l2, 'data/.wh..wh..opq'), '');
  await writeFile(join(l2, 'data/new'), 'new\n');
  return { lower: await tarOf(l1, join(dir, 'l1.tar'), false), upper: await tarOf(l2, join(dir, 'l2.tar'), false) };
}

const CONFIG = { Entrypoint: ['/bin/tool'], Cmd: ['--serve'], Env: ['PATH=/bin', 'A=1'], WorkingDir: '/data', User: '1000:1000' };

/** Mounts the layers read-only with overlayfs and hands the merged view to `check`; always unmounts. */
async function withOverlay(lowerDirs: string[], check: (merged: string) => Promise<void>): Promise<void> {
  const merged = await fresh('merged');
  await run('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lowerDirs.join(':')}`, merged]);
  try {
    await check(merged);
  } finally {
    await run('umount', [merged]).catch(() => run('umount', ['-l', merged]));
  }
}

async function checkMergedView(store: ImageStore, name: string): Promise<void> {
  const p = await store.prepare(name);
  assert.equal(p.rootfs.lowerDirs.length, 2);
  const [upper, lower] = p.rootfs.lowerDirs as [string, string];
  // The upper layer holds overlayfs whiteouts, not OCI ones.
  const wh = await lstat(join(upper, 'etc/gone'));
  assert.ok(wh.isCharacterDevice(), 'a removed file is a character device');
  assert.equal(wh.rdev, 0);
  assert.equal((await run('getfattr', ['--only-values', '-n', 'trusted.overlay.opaque', join(upper, 'data')])).trim(), 'y');
  assert.deepEqual((await readdir(join(upper, 'etc'))).sort(), ['added', 'gone']);
  // The lower layer is unpacked faithfully.
  assert.equal((await stat(join(lower, 'bin/tool'))).mode & 0o7777, 0o4755);
  assert.equal((await stat(join(lower, 'bin/tool'))).ino, (await stat(join(lower, 'bin/tool2'))).ino, 'hard link kept');
  assert.equal(await readlink(join(lower, 'bin/sh')), '/bin/busybox', 'absolute symlink kept verbatim');
  assert.equal(await readlink(join(lower, 'lib')), 'usr/lib');
  assert.equal((await stat(join(lower, 'tmp'))).mode & 0o7777, 0o1777);
  await withOverlay(p.rootfs.lowerDirs, async (m) => {
    assert.deepEqual((await readdir(join(m, 'etc'))).sort(), ['added', 'keep']);
    assert.equal(await readFile(join(m, 'etc/keep'), 'utf8'), 'keep\n');
    assert.deepEqual(await readdir(join(m, 'data')), ['new'], 'opaque directory hides the lower contents');
    assert.equal(await readFile(join(m, 'data/new'), 'utf8'), 'new\n');
    assert.equal(await readFile(join(m, 'bin/tool2'), 'utf8'), '#!/bin/sh\necho tool\n');
  });
  assert.deepEqual(p.config, { entrypoint: ['/bin/tool'], cmd: ['--serve'], env: ['PATH=/bin', 'A=1'], workingDir: '/data', user: '1000:1000' });
}

describe('image store', () => {
  it('builds busybox once, statically linked, with applet links', async () => {
    const store = await ImageStore.open({ root: await fresh('store') });
    const [a, b] = await Promise.all([store.prepare('busybox'), store.prepare('busybox')]);
    assert.equal(a.digest, b.digest, 'concurrent callers share one build');
    const layer = a.rootfs.lowerDirs[0]!;
    assert.equal(a.rootfs.lowerDirs.length, 1);
    assert.equal(await readlink(join(layer, 'bin/sh')), '/bin/busybox');
    assert.ok(await isStaticElf(join(layer, 'bin/busybox')));
    assert.match(await readFile(join(layer, 'etc/passwd'), 'utf8'), /^root:x:0:0:/);
    assert.equal((await stat(join(layer, 'tmp'))).mode & 0o7777, 0o1777);
    assert.equal(await run('chroot', [layer, '/bin/sh', '-c', 'echo hi from $(basename $(readlink /bin/ls))']), 'hi from busybox\n');
    assert.deepEqual(a.config.cmd, ['sh']);
    const rec = await store.get('busybox');
    assert.equal(rec?.format, 'builtin');
    // Cached: a second call neither rebuilds nor changes the image.
    assert.equal((await store.ensureBuiltin('busybox')).importedAt, rec?.importedAt);
  });

  it('imports an OCI layout directory: gzip and plain layers, whiteouts in overlayfs form', async () => {
    const work = await fresh('oci-dir');
    const { lower, upper } = await makeLayers(work);
    const layout = join(work, 'layout');
    const { manifests } = await writeLayout(layout, [{ layers: [{ tar: lower, gzip: true }, { tar: upper, gzip: false }], config: CONFIG }]);
    const store = await ImageStore.open({ root: await fresh('store') });
    const rec = await store.importOci(layout, 'app');
    assert.equal(rec.digest, manifests[0]);
    assert.deepEqual(rec.layers, [sha256(lower), sha256(upper)]);
    assert.equal(rec.size, lower.length + upper.length);
    await checkMergedView(store, 'app');

    // The same layers in another image are shared, not unpacked again.
    const tarred = join(work, 'layout.tar');
    await run('tar', ['--create', `--file=${tarred}`, `--directory=${layout}`, '.']);
    await assert.rejects(store.importOci(tarred, 'app'), /already exists/);
    const again = await store.importOci(tarred, 'app2');
    assert.deepEqual(again.layers, rec.layers);
    assert.equal((await readdir(store.layout.layersDir)).filter((e) => !e.endsWith('.json')).length, 2);
    assert.deepEqual((await store.list()).map((r) => r.name), ['app', 'app2']);
  });

  it('imports an OCI archive (tar of a layout) with the other compression mix, choosing by tag', async () => {
    const work = await fresh('oci-tar');
    const { lower, upper } = await makeLayers(work);
    const layout = join(work, 'layout');
    await writeLayout(layout, [
      { layers: [{ tar: lower, gzip: false }, { tar: upper, gzip: true }], config: CONFIG, ref: 'v2' },
      { layers: [{ tar: lower, gzip: false }], config: {}, ref: 'v1' },
    ]);
    const archive = join(work, 'image.oci.tar');
    await run('tar', ['--create', `--file=${archive}`, `--directory=${layout}`, '.']);
    const store = await ImageStore.open({ root: await fresh('store') });
    await assert.rejects(store.importOci(archive, 'app'), /2 images and none chosen.*v2, v1/);
    await assert.rejects(store.importOci(archive, 'app', { ref: 'v3' }), /no image is tagged "v3" \(tags: v2, v1\)/);
    await store.importOci(archive, 'app', { ref: 'v2' });
    await checkMergedView(store, 'app');
    assert.deepEqual(await readdir(store.layout.tmpDir), [], 'the staged archive is gone');
  });

  it('refuses a blob whose content does not match its digest, and a wrong diff-id', async () => {
    const work = await fresh('bad');
    const { lower, upper } = await makeLayers(work);
    const layout = join(work, 'layout');
    const { layerDigests } = await writeLayout(layout, [{ layers: [{ tar: lower, gzip: true }, { tar: upper, gzip: false }], config: CONFIG }]);
    const victim = layerDigests[0]![1]!;
    await writeFile(join(layout, 'blobs/sha256', victim.slice(7)), Buffer.concat([upper, Buffer.from('tampered')]));
    const store = await ImageStore.open({ root: await fresh('store') });
    await assert.rejects(store.importOci(layout, 'bad'), (e: Error) => {
      assert.ok(e instanceof DigestMismatchError, String(e));
      assert.match(e.message, new RegExp(`digest mismatch for layer 2/2 \\(${victim}\\): expected ${victim}, content is sha256:`));
      return true;
    });
    assert.equal(await store.get('bad'), undefined);
    assert.deepEqual(await readdir(store.layout.tmpDir), []);
    assert.deepEqual(await readdir(store.layout.layersDir), [], 'the failed import left no layer behind');

    const layout2 = join(work, 'layout2');
    await writeLayout(layout2, [{ layers: [{ tar: lower, gzip: true }], config: CONFIG, diffIds: [sha256('something else')] }]);
    await assert.rejects(store.importOci(layout2, 'bad'), /digest mismatch for layer 1\/1 .*the diff-id\): expected sha256:/);
    assert.equal(await store.get('bad'), undefined);

    // A blob that matches its digest but is a cut-off gzip stream fails, rather than hangs.
    const layout3 = join(work, 'layout3');
    const padded = Buffer.concat([lower, Buffer.alloc(200_000)]);
    const { layerDigests: ld3 } = await writeLayout(layout3, [{ layers: [{ tar: padded, gzip: true }], config: CONFIG }]);
    const blob = join(layout3, 'blobs/sha256', ld3[0]![0]!.slice(7));
    const cut = (await readFile(blob)).subarray(0, 400);
    await writeFile(blob, cut);
    await rm(join(layout3, 'index.json'));
    await writeLayout(layout3, [{ layers: [{ tar: cut, gzip: false }], config: CONFIG, diffIds: [sha256(padded)] }]);
    await assert.rejects(store.importOci(layout3, 'bad'), /layer 1\/1 .*: unexpected end of file/);
    assert.deepEqual(await readdir(store.layout.tmpDir), []);
  });

  it('imports a rootfs tarball as a one-layer image', async () => {
    const work = await fresh('rootfs');
    const tree = join(work, 'tree');
    await mkdir(join(tree, 'bin'), { recursive: true });
    await writeFile(join(tree, 'bin/hello'), 'hello\n');
    await chmod(join(tree, 'bin/hello'), 0o755);
    await run('mkfifo', [join(tree, 'fifo')]);
    const tarball = join(work, 'rootfs.tar.gz');
    await writeFile(tarball, await tarOf(tree, join(work, 'plain.tar'), true));
    const progress: string[] = [];
    const store = await ImageStore.open({ root: await fresh('store'), onProgress: (m) => progress.push(m) });
    await assert.rejects(store.importRootfs(tarball, 'r', { sha256: '0'.repeat(64) }), DigestMismatchError);
    const rec = await store.importRootfs(tarball, 'r', { config: { cmd: ['/bin/hello'] }, sha256: sha256(await readFile(tarball)) });
    assert.equal(rec.format, 'rootfs');
    const p = await store.prepare('r');
    assert.equal(p.rootfs.lowerDirs.length, 1);
    assert.equal(await readFile(join(p.rootfs.lowerDirs[0]!, 'bin/hello'), 'utf8'), 'hello\n');
    assert.equal((await stat(join(p.rootfs.lowerDirs[0]!, 'bin/hello'))).mode & 0o777, 0o755);
    assert.deepEqual(p.config, { cmd: ['/bin/hello'] });
    assert.ok(progress.some((m) => /^r: rootfs: not unpacked .*: fifo \(FIFO\)$/.test(m)), progress.join('\n'));
    // The synthesized manifest has no timestamps: same input, same digest.
    assert.equal((await store.importRootfs(tarball, 'r2', { config: { cmd: ['/bin/hello'] } })).digest, rec.digest);
  });

  it('refuses a layer that would write outside its directory', async () => {
    const work = await fresh('escape');
    const outside = await fresh('outside');
    await writeFile(join(work, 'x'), 'pwned\n');
    await symlink(outside, join(work, 'link'));
    // A symlink to a host directory, then a file "through" it.
    const viaLink = join(work, 'via-link.tar');
    await run('tar', ['--create', `--file=${viaLink}`, `--directory=${work}`, 'link']);
    await run('tar', ['--append', `--file=${viaLink}`, `--directory=${work}`, '--transform=s,^x$,link/pwned,', 'x']);
    // A path climbing out with `..`, and a hard link to a host file.
    const dotdot = join(work, 'dotdot.tar');
    await run('tar', ['--create', `--file=${dotdot}`, `--directory=${work}`, '--absolute-names', '--transform=s,^x$,../../pwned,', 'x']);
    await link(join(work, 'x'), join(work, 'y'));
    const hard = join(work, 'hard.tar');
    // y is archived as a hard link to x; the transform renames only that link target.
    await run('tar', ['--create', `--file=${hard}`, `--directory=${work}`, '--absolute-names', '--transform=s,^x$,../../etc/passwd,RS', 'x', 'y']);
    const store = await ImageStore.open({ root: await fresh('store') });
    await assert.rejects(store.importRootfs(viaLink, 'e1'), /goes through a symbolic link/);
    await assert.rejects(store.importRootfs(dotdot, 'e2'), /"..\/..\/pwned" points outside the layer/);
    await assert.rejects(store.importRootfs(hard, 'e3'), /"..\/..\/etc\/passwd" points outside the layer/);
    assert.deepEqual(await readdir(outside), [], 'nothing written outside');
    assert.deepEqual(await readdir(store.layout.tmpDir), []);
    assert.deepEqual(await store.list(), []);
  });

  it('refuses to remove an image in use, naming its users, and collects its layers after', async () => {
    const users = new Map<string, string[]>([['busybox', ['pod-default-web-1/app', 'inst-7']]]);
    const store = await ImageStore.open({ root: await fresh('store'), inUse: (name) => users.get(name) ?? [] });
    const p = await store.prepare('busybox');
    await assert.rejects(store.remove('busybox'), (e: Error) => {
      assert.ok(e instanceof ImageInUseError);
      assert.equal(e.message, 'image "busybox" is in use by pod-default-web-1/app, inst-7');
      return true;
    });
    assert.ok(await store.get('busybox'), 'still there');
    users.clear();
    await store.remove('busybox');
    assert.equal(await store.get('busybox'), undefined);
    await assert.rejects(lstat(p.rootfs.lowerDirs[0]!), /ENOENT/);
    assert.deepEqual(await readdir(store.layout.blobsDir), []);
    assert.deepEqual(await readdir(store.layout.layersDir), []);
    await assert.rejects(store.remove('busybox'), ImageNotFoundError);
    await assert.rejects(store.prepare('nope'), ImageNotFoundError);
  });

  it('ignores and cleans what an interrupted import left behind', async () => {
    const root = await fresh('store');
    const store = await ImageStore.open({ root });
    const good = await store.prepare('busybox');
    // What a crash can leave: a half-unpacked layer and a half-written
    // record in tmp/, and a layer and blob renamed into place whose image
    // record was never written.
    const stray = join(store.layout.tmpDir, 'import-1-deadbeef', 'rootfs', 'bin');
    await mkdir(stray, { recursive: true });
    await writeFile(join(stray, 'half'), 'x');
    await writeFile(join(store.layout.tmpDir, 'half.json-1-abc'), '{"name": "hal');
    const orphan = 'e'.repeat(64);
    await mkdir(join(store.layout.layersDir, orphan, 'etc'), { recursive: true });
    await writeFile(join(store.layout.layersDir, `${orphan}.json`), '{}');
    await writeFile(join(store.layout.blobsDir, orphan), 'orphan');
    assert.deepEqual((await store.list()).map((r) => r.name), ['busybox'], 'nothing half-made is visible');

    const reopened = await ImageStore.open({ root });
    assert.deepEqual(await readdir(reopened.layout.tmpDir), []);
    assert.ok(!(await readdir(reopened.layout.layersDir)).some((e) => e.startsWith(orphan)));
    assert.ok(!(await readdir(reopened.layout.blobsDir)).includes(orphan));
    assert.deepEqual((await reopened.list()).map((r) => r.name), ['busybox']);
    assert.deepEqual((await reopened.prepare('busybox')).rootfs, good.rootfs);
  });

  // Runs debootstrap from Debian's mirror (~30 s): never skipped, so a broken build is seen.
  it('builds debian:bookworm with debootstrap', async () => {
    const store = await ImageStore.open({ root: await fresh('store') });
    const p = await store.prepare('debian:bookworm');
    const layer = p.rootfs.lowerDirs[0]!;
    assert.match(await readFile(join(layer, 'etc/debian_version'), 'utf8'), /^12\./);
    assert.equal(await run('chroot', [layer, '/bin/bash', '-c', 'echo $BASH_VERSION | cut -d. -f1']), '5\n');
    assert.deepEqual(await readdir(join(layer, 'dev')), []);
    assert.equal((await store.prepare('debian')).digest, p.digest, '`debian` is the default release');
  });
});
