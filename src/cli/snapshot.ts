// `lodge snapshot create|ls|restore|rm` over Snapshot objects, as `incus
// snapshot` has them. A snapshot SNAP of instance NAME is the Snapshot
// object NAME.SNAP (names are unique per namespace, snapshot names only
// per instance), labelled with its instance so `ls` lists by label. Restore
// is a request on the Instance (two annotations), acted on once by its
// agent, which reports in status.restore.
import type { Command } from 'commander';
import { FLATTEN_REQUESTED_AT, RESTORE_REQUESTED_AT, RESTORE_SNAPSHOT, SNAPSHOT_INSTANCE_LABEL } from '../apis/lodge/v1alpha1/instance-annotations.js';
import type { Instance } from '../apis/lodge/v1alpha1/instance-types.js';
import type { Snapshot } from '../apis/lodge/v1alpha1/snapshot.js';
import type { KubeObject } from '../apis/types.js';
import type { KubeList } from '../client/client.js';
import type { KubeClient } from '../client/client.js';
import { hasStatus, isNotFound } from '../client/errors.js';
import { INSTANCES, SNAPSHOTS } from '../client/refs.js';
import { withContext } from './context.js';
import { parseDuration } from './duration.js';
import { getInstance, waitForInstance } from './instance-common.js';

interface WaitOptions {
  wait: boolean;
  timeout: string;
}

const MERGE = 'application/merge-patch+json' as const;

/** The Snapshot object of snapshot `snap` of `instance`. */
export const snapshotObjectName = (instance: string, snap: string): string => `${instance}.${snap}`;

/** The name a user knows a Snapshot by: without its instance's prefix. */
export const shortSnapshotName = (s: Snapshot): string => {
  const prefix = `${s.spec?.instanceName ?? ''}.`;
  const name = String(s.metadata.name);
  return name.startsWith(prefix) ? name.slice(prefix.length) : name;
};

/** The Snapshot of `instance` called `snap` (its short name or the object's name), with a clear error. */
export async function findSnapshot(client: KubeClient, namespace: string, instance: string, snap: string): Promise<Snapshot> {
  for (const name of [snapshotObjectName(instance, snap), snap]) {
    try {
      const s = await client.get<Snapshot>(SNAPSHOTS, name, { namespace });
      if (s.spec?.instanceName === instance) return s;
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
  throw new Error(`snapshot "${snap}" of instance "${instance}" not found in namespace "${namespace}" (lodge snapshot ls ${instance} lists them)`);
}

async function waitForSnapshot(client: KubeClient, namespace: string, name: string, timeoutMs: number): Promise<Snapshot> {
  const deadline = timeoutMs > 0 ? Date.now() + timeoutMs : Infinity;
  for (;;) {
    const s = await client.get<Snapshot>(SNAPSHOTS, name, { namespace });
    if (s.status?.phase === 'Ready') return s;
    if (s.status?.phase === 'Failed') throw new Error(`snapshot "${name}" failed: ${s.status.message ?? 'no reason given'}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for snapshot "${name}"; it is ${s.status?.phase ?? 'Pending'}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function waitGone(client: KubeClient, namespace: string, name: string, timeoutMs: number): Promise<void> {
  const deadline = timeoutMs > 0 ? Date.now() + timeoutMs : Infinity;
  for (;;) {
    let s: Snapshot;
    try {
      s = await client.get<Snapshot>(SNAPSHOTS, name, { namespace });
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for snapshot "${name}" to go${s.status?.message ? `: ${s.status.message}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Ask every linked copy reading `source` (or its snapshot) to flatten, and wait until all have. */
export async function flattenCopies(client: KubeClient, namespace: string, source: string, snapshotObject: string | undefined, timeoutMs: number): Promise<void> {
  const all = (await client.list<KubeList>(INSTANCES, { namespace })).items as Instance[];
  const copies = all.filter((i) => {
    const s = i.spec?.source;
    return s?.instanceName === source && !s.full && !i.status?.flattened && (snapshotObject === undefined || s.snapshotName === snapshotObject);
  });
  for (const c of copies) {
    const name = String(c.metadata.name);
    await client.patch(INSTANCES, name, { metadata: { annotations: { [FLATTEN_REQUESTED_AT]: new Date().toISOString() } } }, MERGE, { namespace });
    process.stdout.write(`instance.lodge.dev/${name} flattening\n`);
  }
  for (const c of copies) {
    const name = String(c.metadata.name);
    await waitForInstance(client, namespace, name, 'flattened', (x) => x.status?.flattened === true, timeoutMs);
    process.stdout.write(`instance.lodge.dev/${name} flattened\n`);
  }
}

const humanBytes = (n: number | string | undefined): string => {
  const v = Number(n ?? 0);
  if (!(v > 0)) return '0B';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  const e = Math.min(units.length - 1, Math.floor(Math.log(v) / Math.log(1024)));
  return `${(v / 1024 ** e).toFixed(e ? 1 : 0)}${units[e]}`;
};

export function registerSnapshot(program: Command): void {
  const snap = program.command('snapshot').description('Snapshots of an instance: create, ls, restore, rm');

  snap
    .command('create')
    .description('Take a snapshot of an instance, running or stopped (--stateful keeps its memory too)')
    .argument('<instance>', 'the instance')
    .argument('<snapshot>', 'name of the snapshot')
    .option('--stateful', 'also save memory and processes (a running instance), so a restore resumes them')
    .option('--description <text>', 'a note kept with the snapshot')
    .option('--expiry <duration>', 'delete it automatically after this long, e.g. 7d or 12h')
    .option('--no-wait', 'return once requested, without waiting until it is taken')
    .option('--timeout <duration>', 'how long to wait', '5m')
    .action(async (instance: string, name: string, opts: WaitOptions & { stateful?: boolean; description?: string; expiry?: string }, cmd: Command) => {
      await withContext(cmd, async (ctx) => {
        await getInstance(ctx.client, ctx.namespace, instance);
        const objName = snapshotObjectName(instance, name);
        const body: Snapshot = {
          apiVersion: 'lodge.dev/v1alpha1',
          kind: 'Snapshot',
          metadata: { name: objName, labels: { [SNAPSHOT_INSTANCE_LABEL]: instance } },
          spec: {
            instanceName: instance,
            ...(opts.stateful ? { stateful: true } : {}),
            ...(opts.description ? { description: opts.description } : {}),
            ...(opts.expiry ? { expiresAt: new Date(Date.now() + parseDuration(opts.expiry)).toISOString().replace(/\.\d+Z$/, 'Z') } : {}),
          },
        } as Snapshot;
        try {
          await ctx.client.create(SNAPSHOTS, body as KubeObject, { namespace: ctx.namespace });
        } catch (e) {
          if (hasStatus(e, 409)) throw new Error(`instance "${instance}" already has a snapshot "${name}"`);
          throw e;
        }
        if (!opts.wait) {
          process.stdout.write(`snapshot ${instance}/${name} requested\n`);
          return;
        }
        const s = await waitForSnapshot(ctx.client, ctx.namespace, objName, parseDuration(opts.timeout));
        process.stdout.write(`snapshot ${instance}/${name} created (${humanBytes(s.status?.size)}${s.status?.stateful ? ', stateful' : ''}${s.status?.message ? `; ${s.status.message}` : ''})\n`);
      });
    });

  snap
    .command('ls')
    .alias('list')
    .description("List an instance's snapshots")
    .argument('<instance>', 'the instance')
    .action(async (instance: string, _opts: unknown, cmd: Command) => {
      await withContext(cmd, async (ctx) => {
        await getInstance(ctx.client, ctx.namespace, instance);
        const all = (await ctx.client.list<KubeList>(SNAPSHOTS, { namespace: ctx.namespace, fieldSelector: `spec.instanceName=${instance}` })).items as Snapshot[];
        all.sort((a, b) => String(a.status?.createdAt ?? a.metadata.creationTimestamp).localeCompare(String(b.status?.createdAt ?? b.metadata.creationTimestamp)));
        const rows = [['NAME', 'STATUS', 'STATEFUL', 'SIZE', 'TAKEN', 'EXPIRES'], ...all.map((s) => [shortSnapshotName(s), s.metadata.deletionTimestamp ? 'Deleting' : (s.status?.phase ?? 'Pending'), s.status?.stateful ? 'yes' : 'no', humanBytes(s.status?.size), s.status?.createdAt ?? '', s.spec?.expiresAt ?? ''])];
        const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
        for (const r of rows) process.stdout.write(`${r.map((v, c) => v.padEnd(widths[c])).join('   ').trimEnd()}\n`);
      });
    });

  snap
    .command('restore')
    .description('Put an instance back to a snapshot (it restarts; from the saved memory when the snapshot is stateful)')
    .argument('<instance>', 'the instance')
    .argument('<snapshot>', 'the snapshot')
    .option('--no-wait', 'return once requested')
    .option('--timeout <duration>', 'how long to wait', '5m')
    .action(async (instance: string, name: string, opts: WaitOptions, cmd: Command) => {
      await withContext(cmd, async (ctx) => {
        const s = await findSnapshot(ctx.client, ctx.namespace, instance, name);
        if (s.status?.phase !== 'Ready') throw new Error(`snapshot "${name}" of "${instance}" is ${s.status?.phase ?? 'Pending'}, not Ready`);
        const at = new Date().toISOString();
        await ctx.client.patch(INSTANCES, instance, { metadata: { annotations: { [RESTORE_SNAPSHOT]: String(s.metadata.name), [RESTORE_REQUESTED_AT]: at } } }, MERGE, { namespace: ctx.namespace });
        process.stdout.write(`instance.lodge.dev/${instance} restoring ${name}\n`);
        if (!opts.wait) return;
        const i = await waitForInstance(ctx.client, ctx.namespace, instance, `restored to ${name}`, (x) => x.status?.restore?.requestedAt === at && x.status.restore.phase !== 'InProgress', parseDuration(opts.timeout));
        if (i.status?.restore?.phase === 'Failed') throw new Error(`restore of "${instance}" to "${name}" failed: ${i.status.restore.message ?? ''}`);
        // Back to what runStrategy says (running, unless it is held stopped).
        if (i.spec?.runStrategy !== 'Halted') await waitForInstance(ctx.client, ctx.namespace, instance, 'Running', (x) => x.status?.phase === 'Running', parseDuration(opts.timeout));
        process.stdout.write(`instance.lodge.dev/${instance} restored to ${name} (${i.status?.restore?.message ?? ''})\n`);
      });
    });

  snap
    .command('rm')
    .alias('delete')
    .description('Delete a snapshot (--force flattens the linked copies made from it first)')
    .argument('<instance>', 'the instance')
    .argument('<snapshot>', 'the snapshot')
    .option('--force', 'flatten linked copies made from it, then delete it')
    .option('--no-wait', 'return once requested')
    .option('--timeout <duration>', 'how long to wait', '5m')
    .action(async (instance: string, name: string, opts: WaitOptions & { force?: boolean }, cmd: Command) => {
      await withContext(cmd, async (ctx) => {
        const s = await findSnapshot(ctx.client, ctx.namespace, instance, name);
        const objName = String(s.metadata.name);
        if (opts.force) await flattenCopies(ctx.client, ctx.namespace, instance, objName, parseDuration(opts.timeout));
        await ctx.client.delete(SNAPSHOTS, objName, { namespace: ctx.namespace });
        if (opts.wait) await waitGone(ctx.client, ctx.namespace, objName, parseDuration(opts.timeout));
        process.stdout.write(`snapshot ${instance}/${name} deleted\n`);
      });
    });
}
