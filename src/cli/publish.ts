// `lodge publish NAME[/SNAPSHOT] IMAGE`: make an Image (a template) of an
// instance — of its current disk when it is stopped, or of one of its
// snapshots, running or not — as `incus publish` does. The CLI creates the
// Image with spec.source.publish; the node agent holding the instance makes
// it (src/agent/image-controller.ts) and reports in its status, which this
// command waits for. An Image whose publish failed is removed again, so the
// command can simply be run again once the cause is fixed.
import type { Command } from 'commander';
import { humanBytes } from '../apis/lodge/v1alpha1/image.js';
import type { KubeObject } from '../apis/types.js';
import { isAlreadyExists, isNotFound } from '../client/errors.js';
import { IMAGES } from '../client/refs.js';
import { withContext, type CliContext } from './context.js';
import { parseDuration } from './duration.js';
import { getInstance } from './instance-common.js';

type ImageObject = KubeObject & {
  status?: { phase?: string; digest?: string; size?: number | string; nodes?: string[]; conditions?: Array<{ type?: string; message?: string }> };
};

interface PublishOptions {
  wait: boolean;
  timeout: string;
}

export function registerPublish(program: Command): void {
  program
    .command('publish')
    .description('Make an image of an instance: of its current disk when it is stopped, or of a snapshot (NAME/SNAPSHOT) of a running or stopped one; lodge launch starts new instances from it')
    .argument('<instance>', 'NAME, or NAME/SNAPSHOT for one of its snapshots')
    .argument('<image>', 'name of the new Image')
    .option('--no-wait', 'return once the Image is created instead of waiting until it is made')
    .option('--timeout <duration>', 'give up waiting after this long', '30m')
    .action(async (source: string, image: string, opts: PublishOptions, cmd: Command) => {
      if (image.includes(':')) throw new Error(`an Image's name has no tag: name it e.g. ${image.replace(/:/g, '-')}`);
      const slash = source.indexOf('/');
      const instanceName = slash < 0 ? source : source.slice(0, slash);
      const snapshotName = slash < 0 ? undefined : source.slice(slash + 1);
      if (!instanceName || snapshotName === '' || snapshotName?.includes('/')) throw new Error(`"${source}" is not NAME or NAME/SNAPSHOT`);
      await withContext(cmd, (ctx) => publish(ctx, instanceName, snapshotName, image, opts));
    });
}

async function publish(ctx: CliContext, instanceName: string, snapshotName: string | undefined, name: string, opts: PublishOptions): Promise<void> {
  const namespace = ctx.namespace;
  const inst = await getInstance(ctx.client, namespace, instanceName);
  const type = inst.spec?.type ?? 'container';
  const obj = {
    apiVersion: 'lodge.dev/v1alpha1',
    kind: 'Image',
    metadata: { name },
    spec: { type, source: { publish: { instanceName, namespace, ...(snapshotName ? { snapshotName } : {}) } } },
  } as KubeObject;
  try {
    await ctx.client.create(IMAGES, obj);
  } catch (e) {
    if (isAlreadyExists(e)) throw new Error(`image "${name}" already exists; remove it first (lodge image rm ${name}) or choose another name`);
    throw e;
  }
  const what = `${namespace}/${instanceName}${snapshotName ? ` snapshot ${snapshotName}` : ''}`;
  process.stdout.write(`image.lodge.dev/${name} created (publishing ${type === 'vm' ? 'VM' : 'system container'} ${what})\n`);
  if (!opts.wait) return;
  const deadline = Date.now() + parseDuration(opts.timeout);
  let said = '';
  for (;;) {
    const img = await ctx.client.get<ImageObject>(IMAGES, name);
    const st = img.status ?? {};
    const message = st.conditions?.find((c) => c.type === 'Ready')?.message ?? '';
    if (st.phase === 'Ready') {
      process.stdout.write(`image.lodge.dev/${name} published: ${st.digest ?? ''} ${humanBytes(st.size)}${st.nodes?.length ? ` on ${st.nodes.join(', ')}` : ''}\n`);
      return;
    }
    if (st.phase === 'Failed') {
      // Nothing was made: remove the Image, so that the same command works once the cause is fixed.
      await ctx.client.delete(IMAGES, name).catch((e: unknown) => {
        if (!isNotFound(e)) throw e;
      });
      throw new Error(`publishing ${what} as image "${name}" failed: ${message || 'no reason given'}`);
    }
    const line = `${st.phase ?? 'Pending'}${message ? `: ${message}` : ''}`;
    if (line !== said) {
      process.stderr.write(`${line}\n`);
      said = line;
    }
    if (Date.now() > deadline) throw new Error(`image "${name}" is still ${st.phase ?? 'Pending'} after ${opts.timeout}; is the agent of the instance's node running? (lodge image ls shows it)`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
