// `lodge copy SRC[/SNAP] NEW [--full] [--target-node N]`: a new Instance
// that starts as a copy of SRC's current disk or of its snapshot SNAP
// (spec.source), with SRC's settings but an identity of its own: its own
// name as host name, a new uid (so a new cloud-init instance-id and, in the
// guest, a new machine-id), no host-port forwards of SRC's. Linked by
// default (it reads SRC's unchanged data; O(1)); --full copies.
// `lodge flatten NAME` makes a linked copy independent of its source.
import type { Command } from 'commander';
import { FLATTEN_REQUESTED_AT } from '../apis/lodge/v1alpha1/instance-annotations.js';
import type { Instance, InstanceSpec } from '../apis/lodge/v1alpha1/instance-types.js';
import type { KubeObject } from '../apis/types.js';
import { INSTANCES } from '../client/refs.js';
import { withContext } from './context.js';
import { parseDuration } from './duration.js';
import { getInstance, waitForInstance } from './instance-common.js';
import { findSnapshot } from './snapshot.js';

interface CopyOptions {
  full?: boolean;
  targetNode?: string;
  start: boolean;
  wait: boolean;
  timeout: string;
}

/** The copy's spec: the source's settings, without what would clash with it or is its identity. */
export function copySpec(src: Instance, source: NonNullable<InstanceSpec['source']>, nodeName: string | undefined, start: boolean): InstanceSpec {
  const { source: _s, forwards: _f, snapshots: _p, nodeName: _n, paused: _paused, ...rest } = structuredClone(src.spec ?? {});
  if (rest.cloudInit?.hostname) delete rest.cloudInit.hostname;
  // MACs and static addresses are per machine: the copy's come from its network.
  rest.networks = rest.networks?.map(({ macAddress: _m, ipAddress: _ip, ...n }) => n);
  return { ...rest, ...(nodeName ? { nodeName } : {}), ...(start ? {} : { runStrategy: 'Halted' }), source };
}

export function registerCopy(program: Command): void {
  program
    .command('copy')
    .alias('cp')
    .description('Copy an instance (its current state, or SRC/SNAPSHOT) into a new one: a linked copy unless --full')
    .argument('<source>', 'SRC or SRC/SNAPSHOT')
    .argument('<name>', 'name of the new instance')
    .option('--full', 'copy the whole disk instead of linking to the source')
    .option('--target-node <node>', 'node of the copy (a linked copy lives where its source does)')
    .option('--no-start', 'create it stopped (runStrategy Halted)')
    .option('--no-wait', 'return once created')
    .option('--timeout <duration>', 'how long to wait until it runs', '5m')
    .action(async (sourceArg: string, name: string, opts: CopyOptions, cmd: Command) => {
      await withContext(cmd, async (ctx) => {
        const [srcName, snapName, ...extra] = sourceArg.split('/');
        if (!srcName || extra.length || snapName === '') throw new Error(`source "${sourceArg}" must be INSTANCE or INSTANCE/SNAPSHOT`);
        const src = await getInstance(ctx.client, ctx.namespace, srcName);
        const snapshot = snapName ? await findSnapshot(ctx.client, ctx.namespace, srcName, snapName) : undefined;
        if (snapshot && snapshot.status?.phase !== 'Ready') throw new Error(`snapshot "${snapName}" of "${srcName}" is ${snapshot.status?.phase ?? 'Pending'}, not Ready`);
        const srcNode = src.status?.nodeName;
        if (opts.targetNode && srcNode && opts.targetNode !== srcNode) {
          throw new Error(`--target-node ${opts.targetNode}: "${srcName}" is on node ${srcNode}; copying between nodes comes with migration (copy it here, then migrate)`);
        }
        const source = { instanceName: srcName, ...(snapshot ? { snapshotName: String(snapshot.metadata.name) } : {}), ...(opts.full ? { full: true } : {}) };
        const obj: Instance = {
          apiVersion: 'lodge.dev/v1alpha1',
          kind: 'Instance',
          metadata: { name, ...(src.metadata.labels ? { labels: src.metadata.labels } : {}) },
          spec: copySpec(src, source, opts.targetNode ?? srcNode, opts.start),
        } as Instance;
        await ctx.client.create<KubeObject>(INSTANCES, obj as KubeObject, { namespace: ctx.namespace });
        process.stdout.write(`instance.lodge.dev/${name} created from ${sourceArg}${opts.full ? ' (full copy)' : ''}\n`);
        if (!opts.wait) return;
        const timeout = parseDuration(opts.timeout);
        if (!opts.start) {
          await waitForInstance(ctx.client, ctx.namespace, name, 'Stopped', (x) => x.status?.phase === 'Stopped', timeout);
          return;
        }
        const i = await waitForInstance(ctx.client, ctx.namespace, name, 'Running', (x) => x.status?.phase === 'Running', timeout);
        process.stdout.write(`instance.lodge.dev/${name} running on ${i.status?.nodeName ?? '?'}\n`);
      });
    });

  program
    .command('flatten')
    .description('Make a linked copy independent of its source (copies what it still reads from it)')
    .argument('<name>', 'the instance')
    .option('--timeout <duration>', 'how long to wait', '10m')
    .action(async (name: string, opts: { timeout: string }, cmd: Command) => {
      await withContext(cmd, async (ctx) => {
        const i = await getInstance(ctx.client, ctx.namespace, name);
        if (!i.spec?.source || i.status?.flattened) {
          process.stdout.write(`instance.lodge.dev/${name} does not depend on another instance\n`);
          return;
        }
        await ctx.client.patch(INSTANCES, name, { metadata: { annotations: { [FLATTEN_REQUESTED_AT]: new Date().toISOString() } } }, 'application/merge-patch+json', { namespace: ctx.namespace });
        await waitForInstance(ctx.client, ctx.namespace, name, 'flattened', (x) => x.status?.flattened === true, parseDuration(opts.timeout));
        process.stdout.write(`instance.lodge.dev/${name} flattened\n`);
      });
    });
}
