// `lodge forward add|ls|rm NAME`: an Instance's host-port forwards (Incus
// network forwards), as edits of spec.forwards. The node agent's Service
// proxy programs them: hostIP:hostPort on the host (every node address,
// 127.0.0.1 included, when no hostIP is given) is DNATed to the Instance's
// address and port.
import type { Command } from 'commander';
import { isIP } from 'node:net';
import type { Instance, InstanceForward } from '../apis/lodge/v1alpha1/instance-types.js';
import type { KubeList } from '../client/client.js';
import { INSTANCES } from '../client/refs.js';
import { withContext } from './context.js';
import { getInstance } from './instance-common.js';

const MERGE = 'application/merge-patch+json' as const;

/** "8080", "127.0.0.1:8080": the host side of a forward. */
export function parseHostPort(text: string): { hostIP?: string; hostPort: number } {
  const i = text.lastIndexOf(':');
  const ip = i < 0 ? undefined : text.slice(0, i).replace(/^\[|\]$/g, '');
  const port = Number(i < 0 ? text : text.slice(i + 1));
  if (ip !== undefined && !isIP(ip)) throw new Error(`host address ${JSON.stringify(ip)} in ${JSON.stringify(text)}: not an IP address`);
  return { ...(ip ? { hostIP: ip } : {}), hostPort: parsePort(String(port), `host port in ${JSON.stringify(text)}`) };
}

function parsePort(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`${what}: ${JSON.stringify(text)} is not a port (1-65535)`);
  return n;
}

function parseProtocol(text: string): 'TCP' | 'UDP' {
  const p = text.toUpperCase();
  if (p !== 'TCP' && p !== 'UDP') throw new Error(`--protocol ${JSON.stringify(text)}: must be tcp or udp`);
  return p;
}

const proto = (f: InstanceForward): string => (f.protocol ?? 'TCP').toUpperCase();
const hostSide = (f: InstanceForward): string => `${f.hostIP ? `${f.hostIP}:` : ''}${f.hostPort}/${proto(f).toLowerCase()}`;

/** Whether two forwards would take the same packets (no hostIP means every address of the node). */
function clash(a: InstanceForward, b: InstanceForward): boolean {
  return a.hostPort === b.hostPort && proto(a) === proto(b) && (!a.hostIP || !b.hostIP || a.hostIP === b.hostIP);
}

export function registerForward(program: Command): void {
  const fwd = program.command('forward').description("an instance's host-port forwards: lodge forward add|ls|rm NAME");
  fwd
    .command('add')
    .description('forward [HOSTIP:]HOSTPORT on the host to PORT of the instance (no HOSTIP: every address of its node, 127.0.0.1 included)')
    .argument('<name>', 'the instance')
    .argument('<host>', '[HOSTIP:]HOSTPORT')
    .argument('<port>', "the instance's port")
    .option('--protocol <protocol>', 'tcp or udp', 'tcp')
    .action(async (name: string, host: string, port: string, opts: { protocol: string }, cmd: Command) => {
      const want: InstanceForward = { ...parseHostPort(host), port: parsePort(port, 'port'), protocol: parseProtocol(opts.protocol) };
      await withContext(cmd, async (ctx) => {
        const i = await getInstance(ctx.client, ctx.namespace, name);
        const forwards = i.spec?.forwards ?? [];
        const own = forwards.find((f) => clash(f, want));
        if (own) throw new Error(`instance ${name}: host port ${hostSide(own)} is already forwarded (to port ${own.port}); remove it first with lodge forward rm ${name} ${host}`);
        // Another instance on the same host port: only the first would get the traffic.
        const all = await ctx.client.list<KubeList<Instance>>(INSTANCES, {});
        for (const other of all.items) {
          if (other.metadata.uid === i.metadata.uid) continue;
          const taken = (other.spec?.forwards ?? []).find((f) => clash(f, want));
          if (taken) throw new Error(`host port ${hostSide(taken)} is already forwarded to instance ${other.metadata.namespace}/${other.metadata.name}`);
        }
        await ctx.client.patch<Instance>(INSTANCES, name, { metadata: { resourceVersion: i.metadata.resourceVersion }, spec: { forwards: [...forwards, want] } }, MERGE, { namespace: ctx.namespace });
        process.stdout.write(`instance.lodge.dev/${name}: forwarding ${hostSide(want)} to port ${want.port}\n`);
      });
    });
  fwd
    .command('ls')
    .alias('list')
    .description("list the instance's forwards")
    .argument('<name>', 'the instance')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      await withContext(cmd, async (ctx) => {
        const i = await getInstance(ctx.client, ctx.namespace, name);
        const rows = (i.spec?.forwards ?? []).map((f) => [f.hostIP ?? '*', String(f.hostPort), String(f.port), proto(f)]);
        const head = ['HOST IP', 'HOST PORT', 'PORT', 'PROTOCOL'];
        const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
        for (const r of [head, ...rows]) process.stdout.write(r.map((x, c) => x.padEnd(widths[c]!)).join('   ').trimEnd() + '\n');
      });
    });
  fwd
    .command('rm')
    .alias('remove')
    .description('remove the forward of [HOSTIP:]HOSTPORT')
    .argument('<name>', 'the instance')
    .argument('<host>', '[HOSTIP:]HOSTPORT')
    .option('--protocol <protocol>', 'tcp or udp', 'tcp')
    .action(async (name: string, host: string, opts: { protocol: string }, cmd: Command) => {
      const h = parseHostPort(host);
      const p = parseProtocol(opts.protocol);
      await withContext(cmd, async (ctx) => {
        const i = await getInstance(ctx.client, ctx.namespace, name);
        const forwards = i.spec?.forwards ?? [];
        const keep = forwards.filter((f) => !(f.hostPort === h.hostPort && proto(f) === p && (f.hostIP ?? '') === (h.hostIP ?? '')));
        if (keep.length === forwards.length) throw new Error(`instance ${name} has no forward of ${host}/${p.toLowerCase()} (lodge forward ls ${name})`);
        await ctx.client.patch<Instance>(INSTANCES, name, { metadata: { resourceVersion: i.metadata.resourceVersion }, spec: { forwards: keep } }, MERGE, { namespace: ctx.namespace });
        process.stdout.write(`instance.lodge.dev/${name}: forward of ${host}/${p.toLowerCase()} removed\n`);
      });
    });
}
