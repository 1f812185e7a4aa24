// `lodge export` / `lodge import` on the node: the NodeBackup of this
// agent's instances. It checks the request against the API's objects (the
// Instance by uid, its Snapshot objects), holds the instance's disk lock
// for the whole export or import (no snapshot, delete or restore of it in
// between), and leaves the file work to backup/export.ts and import.ts.
//
// A running VM is refused (409): its top is open for writing by QEMU, and a
// copy of it read meanwhile would be neither frozen nor even consistent
// qcow2 metadata; its snapshots are, so `lodge stop` first (or snapshot and
// export when stopped). A running container is frozen while its writable
// layer is copied (a copy of one moment, as a snapshot is), then thawed
// before the (slow) streaming.
import { rm, stat } from 'node:fs/promises';
import { PassThrough, type Readable } from 'node:stream';
import { IMPORTING } from '../../apis/lodge/v1alpha1/instance-annotations.js';
import type { Instance } from '../../apis/lodge/v1alpha1/instance-types.js';
import type { Snapshot } from '../../apis/lodge/v1alpha1/snapshot.js';
import type { KubeList } from '../../client/client.js';
import type { KubeClient } from '../../client/index.js';
import { isNotFound } from '../../client/errors.js';
import { INSTANCES, SNAPSHOTS } from '../../client/refs.js';
import type { Logger } from '../../util/log.js';
import { BackupError, type BackupTarget, type NodeBackup } from '../backup/node-backup.js';
import { newStagingDir, stageContainer, stageVm, type SnapshotToExport } from '../backup/export.js';
import { BadExportError, hasDiskData, placeImport, type SnapshotIds } from '../backup/import.js';
import { EXPORT_FORMAT, MANIFEST_NAME, manifestFromTarHead, type ExportManifest } from '../backup/manifest.js';
import { collectStderr, tarCreate, tarExtract, ustarMember } from '../backup/tar.js';
import { WorkloadNotFoundError, type WorkloadState } from '../runtime/driver.js';
import { readStorageRecord } from '../storage/storage-record.js';
import { copyTree } from '../storage/tree-copy.js';
import { InstanceNotReadyError } from './container-instance.js';
import { instanceId } from './ids.js';
import type { InstanceDirs } from './instance-dirs.js';
import type { InstanceDisks } from './instance-disks.js';
import type { InstanceRuntime } from './instance-sync.js';

export interface InstanceBackupDeps {
  client: KubeClient;
  dirs: InstanceDirs;
  disks: InstanceDisks;
  log: Logger;
  runtime(type: 'container' | 'vm'): InstanceRuntime | InstanceNotReadyError;
  /** Why the instance's image cannot be used on this node, or undefined when it can. */
  imageProblem(i: Instance): Promise<string | undefined>;
}

const ref = (t: BackupTarget): string => `${t.namespace}/${t.name}`;

/** Read from `body` until `buf` holds n bytes (or the body ends). */
async function readAtLeast(body: Readable, n: number, buf: Buffer): Promise<Buffer> {
  while (buf.length < n) {
    const c = body.read() as Buffer | null;
    if (c) {
      buf = Buffer.concat([buf, c]);
      continue;
    }
    if (body.readableEnded || body.destroyed) break;
    await new Promise<void>((resolve, reject) => {
      const done = (): void => {
        body.off('readable', done);
        body.off('end', done);
        body.off('close', done);
        body.off('error', fail);
        resolve();
      };
      const fail = (e: Error): void => {
        done();
        reject(e);
      };
      body.once('readable', done);
      body.once('end', done);
      body.once('close', done);
      body.once('error', fail);
    });
  }
  return buf;
}

export class InstanceBackups implements NodeBackup {
  constructor(private readonly d: InstanceBackupDeps) {}

  /** The Instance as the API has it now, which must be the one the API server meant. */
  private async instance(t: BackupTarget): Promise<Instance> {
    let i: Instance;
    try {
      i = await this.d.client.get<Instance>(INSTANCES, t.name, { namespace: t.namespace });
    } catch (e) {
      if (isNotFound(e)) throw new BackupError(404, 'NotFound', `instance ${ref(t)} not found`);
      throw e;
    }
    if (i.metadata.uid !== t.uid) throw new BackupError(409, 'Conflict', `instance ${ref(t)} was replaced (uid ${String(i.metadata.uid)}, not ${t.uid})`);
    if (i.metadata.deletionTimestamp) throw new BackupError(409, 'Conflict', `instance ${ref(t)} is being deleted`);
    return i;
  }

  private runtime(t: BackupTarget): InstanceRuntime {
    const rt = this.d.runtime(t.type);
    if (rt instanceof InstanceNotReadyError) throw new BackupError(409, rt.reason, rt.message);
    return rt;
  }

  private async state(rt: InstanceRuntime, uid: string): Promise<WorkloadState | undefined> {
    try {
      return await rt.driver.state(instanceId(uid));
    } catch (e) {
      if (e instanceof WorkloadNotFoundError) return undefined;
      throw e;
    }
  }

  async exportInstance(_nodeName: string, t: BackupTarget, signal: AbortSignal): Promise<Readable> {
    const i = await this.instance(t);
    if (i.metadata.annotations?.[IMPORTING]) throw new BackupError(409, 'Importing', `instance ${ref(t)} is being imported; export it once lodge import has finished`);
    const rt = this.runtime(t);
    const uid = t.uid;
    const st = await this.state(rt, uid);
    const live = !!st && (st.status === 'running' || st.status === 'paused');
    if (t.type === 'vm' && st && st.status !== 'stopped') {
      throw new BackupError(409, 'InstanceRunning', `instance ${ref(t)} is a ${st.status} VM: stop it first (lodge stop ${t.name}); a running VM's disk is open for writing and would not export consistently (its snapshots would, but the export includes the current disk)`);
    }
    const objects = ((await this.d.client.list<KubeList>(SNAPSHOTS, { namespace: t.namespace, fieldSelector: `spec.instanceName=${t.name}` })).items as Snapshot[]).filter((s) => !s.metadata.deletionTimestamp);
    const dir = this.d.dirs.dir(uid);
    return new Promise<Readable>((resolve, reject) => {
      void this.d.disks.withLock(uid, async () => {
        let staging: string | undefined;
        let out: PassThrough | undefined;
        try {
          const rec = await readStorageRecord(dir);
          if (rec.pending) throw new BackupError(409, 'Busy', `instance ${ref(t)} has a disk operation (${rec.pending.op}) to finish; try again shortly`);
          const prefix = `${t.name}.`;
          const snaps: SnapshotToExport[] = objects
            .flatMap((s) => {
              const r = rec.snapshots[String(s.metadata.uid)];
              const name = String(s.metadata.name);
              return r ? [{ short: name.startsWith(prefix) ? name.slice(prefix.length) : name, stateful: !!r.state, description: s.spec?.description, expiresAt: s.spec?.expiresAt, rec: r }] : [];
            })
            .sort((a, b) => a.rec.createdAt.localeCompare(b.rec.createdAt));
          staging = await newStagingDir(dir, 'export');
          const started = performance.now();
          const parts =
            t.type === 'vm'
              ? await stageVm(rec, this.d.disks.vmStore(uid).initialDisk, snaps, staging)
              : await stageContainer(rec, snaps, staging, async (dst) => {
                  const c = rt.disk.container;
                  const freeze = live && st?.status === 'running' && c;
                  if (freeze) await c.pause(instanceId(uid));
                  try {
                    await copyTree(this.d.dirs.upper(uid), dst);
                  } finally {
                    if (freeze) await c.resume(instanceId(uid));
                  }
                });
          const { source: _s, nodeName: _n, paused: _p, ...spec } = structuredClone(i.spec ?? {});
          const manifest: ExportManifest = {
            format: EXPORT_FORMAT,
            exportedAt: new Date().toISOString(),
            type: t.type,
            image: i.spec?.image ?? '',
            instance: { name: t.name, ...(i.metadata.labels ? { labels: i.metadata.labels } : {}), spec },
            ...parts,
            ...(t.type === 'container' ? { firstBootWritten: await this.firstBootWritten(uid) } : {}),
          };
          const members = [manifest.disks ? 'disks' : '', manifest.upper ?? '', manifest.lower ?? '', manifest.snapshots.some((x) => x.state || x.upper) ? 'snapshots' : ''].filter((m) => m !== '');
          const child = tarCreate(staging, members);
          const stderr = collectStderr(child);
          const stream = (out = new PassThrough());
          stream.write(ustarMember(MANIFEST_NAME, Buffer.from(JSON.stringify(manifest, null, 1))));
          // Ended below, once the staging dir is gone: a client that has read the whole export finds nothing of it left behind.
          child.stdout!.pipe(stream, { end: false });
          const kill = (): void => void child.kill('SIGTERM');
          stream.once('close', kill);
          signal.addEventListener('abort', () => stream.destroy(), { once: true });
          resolve(stream);
          const code = await new Promise<number | null>((res) => child.once('close', (c) => res(c)));
          if (code !== 0 && !out.destroyed) out.destroy(new Error(`tar of instance ${ref(t)} failed (exit ${code}): ${stderr()}`));
          this.d.log.info('instance exported', { instance: ref(t), snapshots: snaps.length, stageMs: Math.round(performance.now() - started), ok: code === 0 });
        } catch (e) {
          reject(e instanceof BackupError ? e : new BackupError(500, 'ExportFailed', `export of instance ${ref(t)}: ${(e as Error).message}`));
        } finally {
          if (staging) await rm(staging, { recursive: true, force: true });
          if (out && !out.destroyed) out.end();
        }
      });
    });
  }

  private async firstBootWritten(uid: string): Promise<boolean> {
    return stat(this.d.dirs.guestFile(uid, 'first-boot-written')).then(
      () => true,
      () => false,
    );
  }

  async importInstance(_nodeName: string, t: BackupTarget, body: Readable, signal: AbortSignal): Promise<{ message: string }> {
    const i = await this.instance(t);
    if (i.metadata.annotations?.[IMPORTING] !== 'true') throw new BackupError(409, 'NotImporting', `instance ${ref(t)} was not created for an import (it has no ${IMPORTING} annotation); lodge import FILE creates the instance it imports into`);
    const rt = this.runtime(t);
    const uid = t.uid;
    if (await this.state(rt, uid)) throw new BackupError(409, 'Conflict', `instance ${ref(t)} already has a workload on this node`);
    await this.d.dirs.ensureDir(uid);
    const dir = this.d.dirs.dir(uid);
    return this.d.disks.withLock(uid, async () => {
      const why = await hasDiskData(dir, await readStorageRecord(dir));
      if (why) throw new BackupError(409, 'Conflict', `cannot import into instance ${ref(t)}: ${why}`);
      // The manifest first, from the stream's head: nothing is unpacked from what is not a Lodge export of the right kind.
      let head: Buffer = Buffer.alloc(0);
      let manifest: ExportManifest | undefined;
      try {
        for (;;) {
          const r = manifestFromTarHead(head);
          if ('manifest' in r) {
            manifest = r.manifest;
            break;
          }
          const before = head.length;
          head = await readAtLeast(body, r.need, head);
          if (head.length === before || head.length < r.need) throw new Error(head.length ? 'the tarball ends inside its first member' : 'the body is empty');
        }
      } catch (e) {
        throw new BackupError(400, 'BadRequest', `not a Lodge export: ${(e as Error).message}`);
      }
      if (manifest.type !== t.type) throw new BackupError(400, 'BadRequest', `the export is of a ${manifest.type} but instance ${ref(t)} is a ${t.type}`);
      const imageWhy = await this.d.imageProblem(i);
      if (imageWhy) throw new BackupError(400, 'ImageNotFound', `cannot import instance ${ref(t)}: ${imageWhy}`);
      const ids: SnapshotIds = new Map();
      for (const s of manifest.snapshots) {
        const objectName = `${t.name}.${s.name}`;
        let obj: Snapshot | undefined;
        try {
          obj = await this.d.client.get<Snapshot>(SNAPSHOTS, objectName, { namespace: t.namespace });
        } catch (e) {
          if (!isNotFound(e)) throw e;
        }
        if (!obj || obj.spec?.instanceName !== t.name || obj.metadata.annotations?.[IMPORTING] !== 'true') {
          throw new BackupError(400, 'BadRequest', `the export has snapshot ${s.name}, but there is no Snapshot ${t.namespace}/${objectName} of instance ${t.name} with the ${IMPORTING} annotation to hold it (lodge import creates them)`);
        }
        ids.set(s.name, { uid: String(obj.metadata.uid), objectName });
      }
      const staging = await newStagingDir(dir, 'import');
      const started = performance.now();
      try {
        const child = tarExtract(staging);
        const stderr = collectStderr(child);
        const closed = new Promise<number | null>((res) => child.once('close', (c) => res(c)));
        child.stdin!.on('error', () => undefined); // tar's exit status says what went wrong
        const stop = (): void => void child.kill('SIGTERM');
        signal.addEventListener('abort', stop, { once: true });
        child.stdin!.write(head);
        body.pipe(child.stdin!);
        const code = await closed;
        signal.removeEventListener('abort', stop);
        body.unpipe(child.stdin!);
        if (signal.aborted) throw new BackupError(400, 'BadRequest', 'the upload was cut short');
        if (code !== 0) {
          const msg = stderr();
          if (/No space left/i.test(msg)) throw new BackupError(507, 'InsufficientStorage', `no space left on node for instance ${ref(t)}: ${msg}`);
          throw new BackupError(400, 'BadRequest', `the tarball is damaged or incomplete: tar: ${msg || `exit ${code}`}`);
        }
        const rec = await placeImport(manifest, staging, dir, ids, this.d.dirs.guestFile(uid, 'first-boot-written'));
        const ms = Math.round(performance.now() - started);
        this.d.log.info('instance imported', { instance: ref(t), snapshots: Object.keys(rec.snapshots).length, ms });
        return { message: `instance ${ref(t)} imported: ${manifest.type}, ${manifest.snapshots.length} snapshot(s)` };
      } catch (e) {
        if (e instanceof BackupError) throw e;
        if (e instanceof BadExportError) throw new BackupError(400, 'BadRequest', `the export does not match its manifest: ${e.message}`);
        if ((e as NodeJS.ErrnoException).code === 'ENOSPC') throw new BackupError(507, 'InsufficientStorage', `no space left on node for instance ${ref(t)}: ${(e as Error).message}`);
        throw new BackupError(500, 'ImportFailed', `import of instance ${ref(t)}: ${(e as Error).message}`);
      } finally {
        await rm(staging, { recursive: true, force: true });
      }
    });
  }
}
