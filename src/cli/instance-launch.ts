// `lodge launch IMAGE NAME [--vm] [--cpus N] [--memory 1GiB] [--disk 4GiB]`:
// create an Instance (a system container by default, a VM with --vm) and
// wait until its agent reports it Running, as `incus launch` does.
import type { Command } from 'commander';
import type { Instance } from '../apis/lodge/v1alpha1/instance-types.js';
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
  wait: boolean;
  timeout: string;
}

export function buildInstance(image: string, name: string, o: Omit<LaunchOptions, 'wait' | 'timeout'>): Instance {
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
    .option('--no-wait', 'return once created, without waiting until it runs')
    .option('--timeout <duration>', 'how long to wait until it runs', '5m')
    .action(async (image: string, name: string, opts: LaunchOptions, cmd: Command) => {
      await withContext(cmd, async (ctx) => {
        const obj = buildInstance(image, name, opts);
        await ctx.client.create<KubeObject>(INSTANCES, obj as KubeObject, { namespace: ctx.namespace });
        process.stdout.write(`instance.lodge.dev/${name} created\n`);
        if (!opts.wait || opts.runStrategy === 'Halted') return;
        const i = await waitForInstance(ctx.client, ctx.namespace, name, 'Running', (x) => x.status?.phase === 'Running', parseDuration(opts.timeout));
        process.stdout.write(`instance.lodge.dev/${name} running on ${i.status?.nodeName ?? '?'}\n`);
      });
    });
}
