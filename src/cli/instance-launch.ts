// `lodge launch IMAGE NAME [--vm] [--cpus N] [--memory 1GiB] [--disk 4GiB]
// [--hostname H] [--user U --ssh-key K] [--user-data FILE]`:
// create an Instance (a system container by default, a VM with --vm) and
// wait until its agent reports it Running, as `incus launch` does.
import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import type { Instance, InstanceSpec } from '../apis/lodge/v1alpha1/instance-types.js';
import type { KubeObject } from '../apis/types.js';
import { INSTANCES } from '../client/refs.js';
import { withContext } from './context.js';
import { parseDuration } from './duration.js';
import { parseCpus, parseSize, waitForInstance } from './instance-common.js';

interface LaunchOptions {
  vm?: boolean;
  cpus?: string;
  memory?: string;
  disk?: string;
  runStrategy?: string;
  hostname?: string;
  user?: string;
  sshKey?: string[];
  userData?: string;
  /** Networks to join, in order (eth0, eth1, ...); NAME=IP asks for an address. false (--no-network): none, loopback only. */
  network?: string[] | false;
  wait: boolean;
  timeout: string;
}

/** First-boot configuration from the flags: files are read here, so the Instance carries their text. */
async function cloudInitFrom(o: LaunchOptions): Promise<InstanceSpec['cloudInit'] | undefined> {
  const read = (f: string, what: string): Promise<string> => readFile(f, 'utf8').catch((e: Error) => Promise.reject(new Error(`${what} ${f}: ${e.message}`)));
  const keys = await Promise.all((o.sshKey ?? []).map((k) => (/^(ssh-|ecdsa-|sk-)/.test(k) ? Promise.resolve(k) : read(k, '--ssh-key').then((t) => t.trim()))));
  if (keys.length && !o.user) throw new Error('--ssh-key needs --user NAME: the user the keys log in as');
  const ci: NonNullable<InstanceSpec['cloudInit']> = {
    ...(o.hostname ? { hostname: o.hostname } : {}),
    ...(o.user ? { users: [{ name: o.user, sudo: true, ...(keys.length ? { sshAuthorizedKeys: keys.flatMap((k) => k.split('\n').filter(Boolean)) } : {}) }] } : {}),
    ...(o.userData ? { userData: await read(o.userData, '--user-data') } : {}),
  };
  return Object.keys(ci).length ? ci : undefined;
}

/** spec.networks from --network (repeatable) and --no-network; unset = the default network only. */
function networksFrom(o: Pick<LaunchOptions, 'network'>): Pick<InstanceSpec, 'networks'> {
  if (o.network === false) return { networks: [] };
  if (!o.network?.length) return {};
  return {
    networks: o.network.map((v, i) => {
      const [network, ipAddress] = v.split('=');
      if (!network) throw new Error(`--network ${JSON.stringify(v)}: expected NAME or NAME=IP`);
      return { name: `eth${i}`, network, ...(ipAddress ? { ipAddress } : {}) };
    }),
  };
}

export function buildInstance(image: string, name: string, o: Omit<LaunchOptions, 'wait' | 'timeout'>, cloudInit?: InstanceSpec['cloudInit']): Instance {
  return {
    apiVersion: 'lodge.dev/v1alpha1',
    kind: 'Instance',
    metadata: { name },
    spec: {
      type: o.vm ? 'vm' : 'container',
      image,
      ...(o.cpus ? { cpu: o.cpus } : {}),
      ...(o.memory ? { memory: o.memory } : {}),
      ...(o.disk ? { diskSize: o.disk } : {}),
      ...(o.runStrategy ? { runStrategy: o.runStrategy } : {}),
      ...(cloudInit ? { cloudInit } : {}),
      ...networksFrom(o),
    },
  } as Instance;
}

export function registerLaunch(program: Command): void {
  program
    .command('launch')
    .description('Create and start an instance: a system container, or a virtual machine with --vm')
    .argument('<image>', 'image to start from, e.g. busybox or debian')
    .argument('<name>', 'name of the instance')
    .option('--vm', 'a virtual machine instead of a system container')
    .option('--cpus <n>', 'CPUs (a VM: whole vCPUs; a container: a limit, e.g. 500m)', parseCpus)
    .option('--memory <size>', 'memory, e.g. 512MiB or 1GiB (a VM: its RAM; a container: a limit)', parseSize)
    .option('--disk <size>', 'root disk size, e.g. 4GiB', parseSize)
    .option('--run-strategy <strategy>', 'Always|RerunOnFailure|Manual|Halted (default Always)')
    .option('--hostname <name>', 'host name of the guest (default: the instance name)')
    .option('--user <name>', 'create this user at first boot (with sudo)')
    .option('--ssh-key <file|key>', 'an SSH public key (or a file of them) for --user; repeatable', (v: string, prev: string[] = []) => [...prev, v])
    .option('--user-data <file>', 'cloud-init user data: a script (#!) run once at first boot, or a #cloud-config document')
    .option('--network <name[=ip]>', 'join this network (repeatable: eth0, eth1, ... in order; default: the default network)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--no-network', 'no network interface at all (loopback only)')
    .option('--no-wait', 'return once created, without waiting until it runs')
    .option('--timeout <duration>', 'how long to wait until it runs', '5m')
    .action(async (image: string, name: string, opts: LaunchOptions, cmd: Command) => {
      await withContext(cmd, async (ctx) => {
        const obj = buildInstance(image, name, opts, await cloudInitFrom(opts));
        await ctx.client.create<KubeObject>(INSTANCES, obj as KubeObject, { namespace: ctx.namespace });
        process.stdout.write(`instance.lodge.dev/${name} created\n`);
        if (!opts.wait || opts.runStrategy === 'Halted') return;
        const i = await waitForInstance(ctx.client, ctx.namespace, name, 'Running', (x) => x.status?.phase === 'Running', parseDuration(opts.timeout));
        process.stdout.write(`instance.lodge.dev/${name} running on ${i.status?.nodeName ?? '?'}\n`);
      });
    });
}
