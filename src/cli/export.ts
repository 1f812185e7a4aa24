// `lodge export NAME FILE` and `lodge import FILE [NEWNAME]`: an instance
// (VM or system container) with its snapshots as one tarball
// (instances/export, instances/import; format in agent/backup/manifest.ts).
//
// Import is a few API steps, undone if any fails: the Instance is created
// stopped and marked lodge.dev/importing (its agent then neither starts it
// nor makes a disk or snapshots for it), its Snapshot objects likewise; once
// bound to a node, the tarball is posted to it; then the marks go, the run
// strategy comes back, and the agent reports the snapshots Ready from the
// data it was given.
import { createReadStream, createWriteStream } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { IMPORTING, LAST_RUN_STRATEGY, SNAPSHOT_INSTANCE_LABEL } from '../apis/lodge/v1alpha1/instance-annotations.js';
import type { Instance, InstanceSpec } from '../apis/lodge/v1alpha1/instance-types.js';
import type { Snapshot } from '../apis/lodge/v1alpha1/snapshot.js';
import type { KubeObject } from '../apis/types.js';
import type { KubeClient } from '../client/client.js';
import { hasStatus, isNotFound } from '../client/errors.js';
import { INSTANCES, SNAPSHOTS } from '../client/refs.js';
import { manifestFromTarHead, type ExportManifest } from '../agent/backup/manifest.js';
import { withContext } from './context.js';
import { parseDuration } from './duration.js';
import { getInstance, waitForInstance } from './instance-common.js';
import { snapshotObjectName } from './snapshot.js';

const MERGE = 'application/merge-patch+json' as const;
const instancePath = (ns: string, name: string, sub: string): string => `/apis/lodge.dev/v1alpha1/namespaces/${encodeURIComponent(ns)}/instances/${encodeURIComponent(name)}/${sub}`;

const human = (n: number): string => {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  const e = n > 0 ? Math.min(units.length - 1, Math.floor(Math.log(n) / Math.log(1024))) : 0;
  return `${(n / 1024 ** e).toFixed(e ? 1 : 0)}${units[e]}`;
};

/** The manifest at the start of FILE, or an error saying why FILE is not an export. */
export async function readManifest(file: string): Promise<ExportManifest> {
  const fh = await open(file, 'r').catch((e: Error) => {
    throw new Error(`cannot read ${file}: ${e.message}`);
  });
  try {
    let size = 512;
    for (;;) {
      const buf = Buffer.alloc(size);
      const { bytesRead } = await fh.read(buf, 0, size, 0);
      let r;
      try {
        r = manifestFromTarHead(buf.subarray(0, bytesRead));
      } catch (e) {
        throw new Error(`${file} is not a Lodge export: ${(e as Error).message}`);
      }
      if ('manifest' in r) return r.manifest;
      if (bytesRead < size || r.need <= size) throw new Error(`${file} is not a Lodge export: it ends inside its first member`);
      size = r.need;
    }
  } finally {
    await fh.close();
  }
}

/** The new instance's spec: the exported one, stopped; renamed, it also drops what is per machine (it may live beside the original). */
function importSpec(m: ExportManifest, renamed: boolean): InstanceSpec {
  const spec = structuredClone(m.instance.spec);
  if (renamed) {
    delete spec.forwards;
    if (spec.cloudInit?.hostname) delete spec.cloudInit.hostname;
    spec.networks = spec.networks?.map(({ macAddress: _m, ipAddress: _ip, ...n }) => n);
  }
  return { ...spec, type: m.type, image: m.image, runStrategy: 'Halted' };
}

async function deleteQuietly(client: KubeClient, ref: typeof INSTANCES | typeof SNAPSHOTS, namespace: string, name: string): Promise<void> {
  await client.delete(ref, name, { namespace }).catch((e: unknown) => {
    if (!isNotFound(e)) process.stderr.write(`warning: could not delete ${name}: ${(e as Error).message}\n`);
  });
}

async function waitSnapshotsReady(client: KubeClient, namespace: string, names: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const n of names) {
    for (;;) {
      const s = await client.get<Snapshot>(SNAPSHOTS, n, { namespace });
      if (s.status?.phase === 'Ready') break;
      if (s.status?.phase === 'Failed') throw new Error(`snapshot ${n} failed after the import: ${s.status.message ?? ''}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for snapshot ${n} to be Ready (it is ${s.status?.phase ?? 'Pending'})`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

export function registerExport(program: Command): void {
  program
    .command('export')
    .description('Write an instance (VM or container) and its snapshots to one tarball; a VM must be stopped')
    .argument('<name>', 'the instance')
    .argument('<file>', 'the tarball to write (- for stdout)')
    .action(async (name: string, file: string, _opts: unknown, cmd: Command) => {
      await withContext(cmd, async (ctx) => {
        await getInstance(ctx.client, ctx.namespace, name);
        const started = Date.now();
        const res = await ctx.client.requestStream({ path: instancePath(ctx.namespace, name, 'export'), accept: 'application/x-tar, application/json', timeoutMs: 0 });
        if (file === '-') {
          await pipeline(res.body, process.stdout);
          return;
        }
        // Written under another name and renamed when whole: a FILE that exists is a complete export.
        const partial = `${file}.partial`;
        try {
          await pipeline(res.body, createWriteStream(partial));
          // The stream may end early without an error on some paths: the manifest must be there at least.
          await readManifest(partial);
          await rename(partial, file);
        } catch (e) {
          await rm(partial, { force: true });
          throw new Error(`export of ${name} failed: ${(e as Error).message}`);
        }
        const m = await readManifest(file);
        const size = (await stat(file)).size;
        process.stdout.write(`instance.lodge.dev/${name} exported to ${file} (${m.type}, ${m.snapshots.length} snapshot(s), ${human(size)}, ${((Date.now() - started) / 1000).toFixed(1)}s)\n`);
      });
    });

  program
    .command('import')
    .description('Create an instance from a tarball of lodge export, with its snapshots')
    .argument('<file>', 'the tarball')
    .argument('[name]', 'name of the new instance (default: the exported one)')
    .option('--no-start', 'leave it stopped')
    .option('--timeout <duration>', 'how long to wait for each step', '10m')
    .action(async (file: string, newName: string | undefined, opts: { start: boolean; timeout: string }, cmd: Command) => {
      await withContext(cmd, async (ctx) => {
        const m = await readManifest(file);
        const client = ctx.client;
        const ns = ctx.namespace;
        const name = newName ?? m.instance.name;
        const timeout = parseDuration(opts.timeout);
        const mark = { [IMPORTING]: 'true' };
        const obj: Instance = {
          apiVersion: 'lodge.dev/v1alpha1',
          kind: 'Instance',
          metadata: { name, annotations: mark, ...(m.instance.labels ? { labels: m.instance.labels } : {}) },
          spec: importSpec(m, name !== m.instance.name),
        } as Instance;
        try {
          await client.create<KubeObject>(INSTANCES, obj as KubeObject, { namespace: ns });
        } catch (e) {
          if (hasStatus(e, 409)) throw new Error(`instance "${name}" already exists in namespace "${ns}": delete it or import under another name (lodge import ${file} NEWNAME)`);
          throw e;
        }
        const made: string[] = [];
        const started = Date.now();
        try {
          const bound = await waitForInstance(client, ns, name, 'placed on a node', (x) => !!x.status?.nodeName, timeout);
          for (const s of m.snapshots) {
            const sname = snapshotObjectName(name, s.name);
            const body: Snapshot = {
              apiVersion: 'lodge.dev/v1alpha1',
              kind: 'Snapshot',
              metadata: { name: sname, labels: { [SNAPSHOT_INSTANCE_LABEL]: name }, annotations: mark },
              spec: { instanceName: name, ...(s.stateful ? { stateful: true } : {}), ...(s.description ? { description: s.description } : {}), ...(s.expiresAt ? { expiresAt: s.expiresAt } : {}) },
            } as Snapshot;
            await client.create(SNAPSHOTS, body as KubeObject, { namespace: ns });
            made.push(sname);
          }
          await client.requestJson({ method: 'POST', path: instancePath(ns, name, 'import'), body: createReadStream(file), contentType: 'application/x-tar', timeoutMs: 0 });
          for (const sname of made) await client.patch(SNAPSHOTS, sname, { metadata: { annotations: { [IMPORTING]: null } } }, MERGE, { namespace: ns });
          const strategy = m.instance.spec.runStrategy;
          const runStrategy = opts.start ? (strategy ?? null) : 'Halted';
          const annotations: Record<string, string | null> = { [IMPORTING]: null, ...(!opts.start && strategy && strategy !== 'Halted' ? { [LAST_RUN_STRATEGY]: strategy } : {}) };
          await client.patch(INSTANCES, name, { metadata: { annotations }, spec: { runStrategy } }, MERGE, { namespace: ns });
          process.stdout.write(`instance.lodge.dev/${name} imported on ${bound.status?.nodeName ?? '?'} (${m.type}, ${m.snapshots.length} snapshot(s), ${((Date.now() - started) / 1000).toFixed(1)}s)\n`);
        } catch (e) {
          // Nothing half-made stays: the Snapshots and the Instance go (the node removes what it wrote with them).
          for (const sname of made) await deleteQuietly(client, SNAPSHOTS, ns, sname);
          await deleteQuietly(client, INSTANCES, ns, name);
          throw new Error(`import of ${file} as ${name} failed: ${(e as Error).message}`);
        }
        await waitSnapshotsReady(client, ns, made, timeout);
        if (opts.start && (m.instance.spec.runStrategy ?? 'Always') !== 'Halted') {
          const i = await waitForInstance(client, ns, name, 'Running', (x) => x.status?.phase === 'Running', timeout);
          process.stdout.write(`instance.lodge.dev/${name} running on ${i.status?.nodeName ?? '?'}\n`);
        }
      });
    });
}
