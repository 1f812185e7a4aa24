// `lodge network create|ls|show|rm` over Network objects, as `incus network`
// has them. A network without --subnet gets a free /24 of 10.100.0.0/16 that
// no other Network uses (the agent then reports on each node whether the
// bridge is up, or why not — e.g. the subnet clashes with a host route).
import type { Command } from 'commander';
import { DEFAULT_NETWORK, parseIpv4Cidr, type Network } from '../apis/lodge/v1alpha1/network.js';
import type { KubeList } from '../client/client.js';
import { NETWORKS } from '../client/refs.js';
import { withContext } from './context.js';
import { parseDuration } from './duration.js';
import { renderLines } from './print/table.js';

/** Where `lodge network create` picks subnets when none is given. */
const AUTO_POOL = { base: (10 << 24) | (100 << 16), len: 16 };

function overlaps(a: { net: number; len: number }, b: { net: number; len: number }): boolean {
  const len = Math.min(a.len, b.len);
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  return ((a.net & mask) >>> 0) === ((b.net & mask) >>> 0);
}

/** The first /24 of the pool that no Network's subnet overlaps. */
export function freeSubnet(taken: string[]): string {
  const used = taken.map(parseIpv4Cidr).filter((c): c is { net: number; len: number } => !!c);
  for (let i = 0; i < 2 ** (24 - AUTO_POOL.len); i++) {
    const net = (AUTO_POOL.base + i * 256) >>> 0;
    if (!used.some((u) => overlaps(u, { net, len: 24 }))) return `${net >>> 24}.${(net >>> 16) & 255}.${(net >>> 8) & 255}.0/24`;
  }
  throw new Error('no free /24 left in 10.100.0.0/16 for a new network; give one with --subnet');
}

export function registerNetworkObjects(net: Command): void {
  net
    .command('create')
    .description('Create a bridged network that instances can join (spec.networks[].network)')
    .argument('<name>', 'the network')
    .option('--subnet <cidr>', 'IPv4 subnet; the first address is the gateway (default: a free /24 of 10.100.0.0/16)')
    .option('--no-nat', 'do not masquerade traffic leaving the node (an isolated network)')
    .option('--bridge <name>', 'the Linux bridge on each node (default lodge-NAME)')
    .option('--mtu <n>', 'MTU of the bridge and the interfaces on it')
    .option('--description <text>', 'free-form note')
    .option('--no-wait', 'return once created, before the bridges are up')
    .option('--timeout <duration>', 'how long to wait for the nodes to report it', '60s')
    .action(async (name: string, opts: { subnet?: string; nat: boolean; bridge?: string; mtu?: string; description?: string; wait: boolean; timeout: string }, cmd: Command) => {
      await withContext(cmd, async (ctx) => {
        let subnet = opts.subnet;
        if (!subnet) subnet = freeSubnet(((await ctx.client.list<KubeList>(NETWORKS)).items as Network[]).map((n) => n.spec?.subnet ?? ''));
        const mtu = opts.mtu === undefined ? undefined : Number(opts.mtu);
        if (mtu !== undefined && !Number.isInteger(mtu)) throw new Error(`--mtu ${JSON.stringify(opts.mtu)}: must be an integer`);
        const obj: Network = {
          apiVersion: 'lodge.dev/v1alpha1',
          kind: 'Network',
          metadata: { name },
          spec: { type: 'bridge', subnet, nat: opts.nat, ...(opts.bridge ? { bridge: opts.bridge } : {}), ...(mtu ? { mtu } : {}), ...(opts.description ? { description: opts.description } : {}) },
        };
        await ctx.client.create(NETWORKS, obj);
        process.stdout.write(`network.lodge.dev/${name} created (${subnet})\n`);
        if (!opts.wait) return;
        const deadline = Date.now() + parseDuration(opts.timeout);
        for (;;) {
          const n = await ctx.client.get<Network>(NETWORKS, name);
          const nodes = n.status?.nodes ?? [];
          const failed = nodes.find((x) => !x.ready && x.message);
          if (failed) throw new Error(`network ${name} on node ${failed.nodeName}: ${failed.message}`);
          if (nodes.length && nodes.every((x) => x.ready)) {
            for (const x of nodes) process.stdout.write(`  ${x.nodeName}: bridge ${x.bridge}, gateway ${x.gateway}\n`);
            return;
          }
          if (Date.now() > deadline) throw new Error(`timed out waiting for a node to report network ${name}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      });
    });

  net
    .command('ls')
    .alias('list')
    .description('List networks')
    .action(async (_opts: unknown, cmd: Command) => {
      await withContext(cmd, async (ctx) => {
        const all = ((await ctx.client.list<KubeList>(NETWORKS)).items as Network[]).sort((a, b) => (a.metadata.name === DEFAULT_NETWORK ? -1 : b.metadata.name === DEFAULT_NETWORK ? 1 : String(a.metadata.name).localeCompare(String(b.metadata.name))));
        const rows = [['NAME', 'TYPE', 'SUBNET', 'NAT', 'BRIDGES', 'READY', 'DESCRIPTION']];
        for (const n of all) {
          const nodes = n.status?.nodes ?? [];
          rows.push([String(n.metadata.name), n.spec?.type ?? 'bridge', `${n.spec?.subnet ?? ''}${n.spec?.perNode ? ' (/24 per node)' : ''}`, n.spec?.nat === false ? 'no' : 'yes', [...new Set(nodes.map((x) => x.bridge ?? ''))].join(',') || '-', `${nodes.filter((x) => x.ready).length}/${nodes.length}`, n.spec?.description ?? '']);
        }
        process.stdout.write(renderLines(rows));
      });
    });

  net
    .command('show')
    .description('Show a network and how it stands on each node')
    .argument('<name>', 'the network')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      await withContext(cmd, async (ctx) => {
        const n = await ctx.client.get<Network>(NETWORKS, name);
        const lines = [
          `Name:        ${name}`,
          `Type:        ${n.spec?.type ?? 'bridge'}`,
          `Subnet:      ${n.spec?.subnet ?? ''}${n.spec?.perNode ? ' (a /24 per node)' : ''}`,
          `NAT:         ${n.spec?.nat !== false}`,
          ...(n.spec?.mtu ? [`MTU:         ${n.spec.mtu}`] : []),
          ...(n.spec?.description ? [`Description: ${n.spec.description}`] : []),
          'Nodes:',
          ...(n.status?.nodes ?? []).map((x) => `  ${x.nodeName}: bridge ${x.bridge ?? '-'}, subnet ${x.subnet ?? '-'}, gateway ${x.gateway ?? '-'}, ${x.ready ? 'ready' : `not ready${x.message ? `: ${x.message}` : ''}`}`),
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
      });
    });

  net
    .command('rm')
    .alias('delete')
    .description('Delete a network (refused while instances are on it); each node removes its bridge and NAT')
    .argument('<name>', 'the network')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      await withContext(cmd, async (ctx) => {
        await ctx.client.delete(NETWORKS, name);
        process.stdout.write(`network.lodge.dev/${name} deleted\n`);
      });
    });
}
