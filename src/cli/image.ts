// `lodge image import|build|ls|rm`: the Image resources as a user sees them. An
// import creates an Image whose source is a path, which the node agent
// imports into its image store; the command waits for the agent's verdict
// in the Image's status. The file is read by the node, not sent by the CLI:
// with a single-host Lodge (lodge up) that is this machine.
import { open, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { BUILTIN_IMAGES, humanBytes } from '../apis/lodge/v1alpha1/image.js';
import type { KubeObject } from '../apis/types.js';
import { isAlreadyExists } from '../client/errors.js';
import { IMAGES } from '../client/refs.js';
import { parseDuration } from './duration.js';
import { withContext, type CliContext } from './context.js';
import { reportError } from './errors.js';
import { localTable } from './print/local-table.js';
import { formatObjects, parseOutputFormat } from './print/objects.js';
import { renderLines, tableGrid } from './print/table.js';

type ImageType = 'oci' | 'rootfs' | 'disk';
type ImageObject = KubeObject & {
  status?: { phase?: string; digest?: string; size?: number | string; nodes?: string[]; conditions?: Array<{ type?: string; message?: string }> };
};

/** The agent's image controller builds a built-in image when this annotation changes (src/agent/image-controller.ts). */
const BUILD_REQUESTED = 'lodge.dev/build-requested';

const NODE_NOTE = 'The file is read by the node agent, so it must be readable there: with lodge up (single host, for now) that is this machine.';

interface ImportOptions {
  type?: ImageType;
  kernel?: string;
  initrd?: string;
  cmdline?: string;
  wait: boolean;
  timeout: string;
}

function parseType(v: string): ImageType {
  if (v !== 'oci' && v !== 'rootfs' && v !== 'disk') throw new InvalidArgumentError(`"${v}" is not oci, rootfs or disk`);
  return v;
}

export function registerImage(program: Command): void {
  const image = program.command('image').description('Manage images: import an OCI image, a rootfs tarball or a VM disk, build the built-in VM images, list and remove them');
  image
    .command('import')
    .summary('import an OCI image layout (directory or archive), a rootfs tarball, or a VM disk with its kernel, from a file on the node')
    .description(
      `Import an image from a file: an OCI image layout directory, an OCI archive (podman save --format oci-archive, skopeo copy ... oci-archive:) or a root filesystem tarball (.tar, .tar.gz) for containers; or a VM disk (qcow2 or raw) with --kernel (Lodge boots kernels directly) for VMs. ${NODE_NOTE}`,
    )
    .argument('<file>', 'OCI layout directory, OCI archive, rootfs tarball, or VM disk')
    .argument('<name>', 'name of the Image (what Pods and Instances give as their image)')
    .option('--type <type>', 'oci|rootfs|disk (default: detected from the file; disk with --kernel)', parseType)
    .option('--kernel <file>', 'a VM disk: the kernel it boots with (vmlinux or bzImage)')
    .option('--initrd <file>', 'a VM disk: its initramfs, if the kernel needs one')
    .option('--cmdline <args>', 'a VM disk: its kernel command line, e.g. "root=/dev/vda1 ro" (default root=/dev/vda rw)')
    .option('--no-wait', 'return once the Image is created instead of waiting for the import')
    .option('--timeout <duration>', 'give up waiting after this long', '10m')
    .action(async (file: string, name: string, opts: ImportOptions, cmd: Command) => {
      if (name.includes(':')) {
        throw new Error(`an Image's name has no tag: name it e.g. ${name.replace(/:/g, '-')}; Pods may give it as NAME or NAME:latest`);
      }
      const path = resolve(file);
      const type = opts.type ?? (opts.kernel ? 'disk' : await detectType(path));
      if (type === 'disk' && !opts.kernel) throw new Error('a VM disk needs --kernel FILE: Lodge boots the kernel directly (no firmware)');
      if (type !== 'disk' && (opts.kernel || opts.initrd || opts.cmdline)) throw new Error('--kernel, --initrd and --cmdline are for VM disks (--type disk)');
      await withContext(cmd, (ctx) => importImage(ctx, name, type, path, opts));
    });
  image
    .command('build')
    .description(`Build a built-in VM image on the node now instead of on first launch: ${BUILDABLE.join(', ')} (from Debian packages: the cloud kernel, a busybox or debootstrap root disk)`)
    .argument('<name>', 'the built-in image')
    .option('--timeout <duration>', 'give up waiting after this long', '30m')
    .action(async (name: string, opts: { timeout: string }, cmd: Command) => {
      await withContext(cmd, (ctx) => buildImage(ctx, name, opts));
    });
  image
    .command('ls')
    .alias('list')
    .description('List images: name, source, digest, size, phase and age')
    .option('-o, --output <format>', 'wide|yaml|json|name')
    .action(async (opts: { output?: string }, cmd: Command) => {
      const format = parseOutputFormat(opts.output);
      await withContext(cmd, async (ctx) => {
        const list = await ctx.client.list<{ items: KubeObject[] }>(IMAGES);
        const items = list.items.map((i) => ({ ...i, apiVersion: 'lodge.dev/v1alpha1', kind: 'Image' }) as KubeObject);
        if (format.kind !== 'table') {
          process.stdout.write(formatObjects(items, format, false));
          return;
        }
        if (!items.length) {
          process.stderr.write('No images found.\n');
          return;
        }
        const t = localTable(items);
        const grid = tableGrid(t.columnDefinitions, t.rows, { wide: format.wide, withNamespace: false, showLabels: false });
        process.stdout.write(renderLines([grid.header, ...grid.rows]));
      });
    });
  image
    .command('rm')
    .alias('remove')
    .description('Remove images; refused while a Pod or Instance uses one')
    .argument('<names...>', 'images to remove')
    .action(async (names: string[], _opts: unknown, cmd: Command) => {
      await withContext(cmd, async (ctx) => {
        for (const n of names) {
          try {
            await ctx.client.delete(IMAGES, n);
            process.stdout.write(`image.lodge.dev "${n}" deleted\n`);
          } catch (e) {
            reportError(e); // the others are still removed; the exit code says one failed
          }
        }
      });
    });
}

/** oci for a layout directory or a tar holding one (oci-layout or index.json at its top), rootfs for another tar. */
export async function detectType(path: string): Promise<ImageType> {
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}. ${NODE_NOTE}`);
  }
  if (st.isDirectory()) {
    for (const f of ['index.json', 'oci-layout']) {
      if (await stat(resolve(path, f)).then(() => true, () => false)) return 'oci';
    }
    throw new Error(`${path} is a directory but not an OCI image layout (no index.json or oci-layout); to import a root filesystem, make a tarball of it (tar -C DIR -cf rootfs.tar .)`);
  }
  if (!st.isFile()) throw new Error(`${path} is neither a file nor a directory`);
  const fh = await open(path, 'r');
  const magic = Buffer.alloc(4);
  await fh.read(magic, 0, 4, 0).finally(() => fh.close());
  if (magic.equals(Buffer.from([0x51, 0x46, 0x49, 0xfb]))) throw new Error(`${path} is a qcow2 VM disk: give the kernel it boots with, --kernel FILE (and --initrd, --cmdline if it needs them)`);
  await checkTarLike(path);
  // Reading only the names: the unpacking is the node's.
  const { tarEntries } = await import('../agent/images/tar-reader.js');
  const { openLayerStream, cleanPath } = await import('../agent/images/layer-unpack.js');
  try {
    for await (const e of tarEntries(await openLayerStream(path))) {
      const rel = cleanPath(e.path);
      e.resume();
      if (rel === 'oci-layout' || rel === 'index.json') return 'oci';
    }
  } catch (e) {
    throw new Error(`${path} is not a readable tar archive (${(e as Error).message}); give --type to import it anyway`);
  }
  return 'rootfs';
}

/** A quick look at the first bytes: a gzip stream or a tar header (ustar magic at 257). */
async function checkTarLike(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(512);
    const { bytesRead } = await fh.read(head, 0, 512, 0);
    if (bytesRead >= 2 && head[0] === 0x1f && head[1] === 0x8b) return;
    if (bytesRead >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar') return;
    throw new Error(`${path} is neither a tar archive nor gzip-compressed; give --type to import it anyway`);
  } finally {
    await fh.close();
  }
}

async function importImage(ctx: CliContext, name: string, type: ImageType, path: string, opts: ImportOptions): Promise<void> {
  const source = type === 'oci' ? { oci: { path } } : type === 'disk' ? { qcow2: { path } } : { rootfs: { path } };
  const boot = type === 'disk' ? { kernel: resolve(opts.kernel!), ...(opts.initrd ? { initrd: resolve(opts.initrd) } : {}), ...(opts.cmdline ? { cmdline: opts.cmdline } : {}) } : undefined;
  const obj = { apiVersion: 'lodge.dev/v1alpha1', kind: 'Image', metadata: { name }, spec: { type: type === 'disk' ? 'vm' : 'container', source, ...(boot ? { boot } : {}) } } as KubeObject;
  try {
    await ctx.client.create(IMAGES, obj);
  } catch (e) {
    if (isAlreadyExists(e)) throw new Error(`image "${name}" already exists; remove it first (lodge image rm ${name}) or choose another name`);
    throw e;
  }
  process.stdout.write(`image.lodge.dev/${name} created (${type === 'oci' ? 'OCI image' : type === 'disk' ? 'VM disk' : 'rootfs tarball'} ${path})\n`);
  if (!opts.wait) return;
  await waitForImage(ctx, name, 'import', opts.timeout);
}

/** Wait until the node reports the Image Ready (printing its progress) or Failed (an error naming why). */
async function waitForImage(ctx: CliContext, name: string, what: 'import' | 'build', timeout: string, since?: string): Promise<void> {
  const deadline = Date.now() + parseDuration(timeout);
  let said = '';
  for (;;) {
    const img = await ctx.client.get<ImageObject>(IMAGES, name);
    const st = img.status ?? {};
    // A failure older than this build request is the last build's, not this one's: keep waiting for the node's answer.
    const changed = (img.status?.conditions?.find((c) => c.type === 'Ready') as { lastTransitionTime?: string } | undefined)?.lastTransitionTime;
    const seen = !since || st.phase !== 'Failed' || (changed !== undefined && Date.parse(changed) >= Date.parse(since) - 1000);
    const message = st.conditions?.find((c) => c.type === 'Ready')?.message ?? '';
    const line = `${st.phase ?? 'Pending'}${message ? `: ${message}` : ''}`;
    if (seen && st.phase === 'Ready') {
      process.stdout.write(`image.lodge.dev/${name} ready: ${st.digest ?? ''} ${humanBytes(st.size)}${st.nodes?.length ? ` on ${st.nodes.join(', ')}` : ''}\n`);
      return;
    }
    if (seen && st.phase === 'Failed') throw new Error(`${what} of image "${name}" failed: ${message || 'no reason given'}`);
    if (line !== said) {
      process.stderr.write(`${line}\n`);
      said = line;
    }
    if (Date.now() > deadline) throw new Error(`image "${name}" is still ${st.phase ?? 'Pending'} after ${timeout}; is a node agent running? (lodge image ls shows it)`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const BUILDABLE = BUILTIN_IMAGES.filter((n) => n.endsWith('-vm'));

/** lodge image build NAME: ask the node to build a built-in VM image now rather than on first launch. */
async function buildImage(ctx: CliContext, name: string, opts: { timeout: string }): Promise<void> {
  if (!(BUILDABLE as readonly string[]).includes(name)) {
    const why = name === 'busybox' || name === 'debian' || name === 'debian-systemd' ? `"${name}" is built by the node itself (busybox at once, debian and debian-systemd on first use)` : `"${name}" is not a built-in image`;
    throw new Error(`${why}; lodge image build builds ${BUILDABLE.join(', ')}`);
  }
  const requested = new Date().toISOString();
  let img: ImageObject;
  try {
    img = await ctx.client.patch<ImageObject>(IMAGES, name, { metadata: { annotations: { [BUILD_REQUESTED]: requested } } }, 'application/merge-patch+json');
  } catch (e) {
    if ((e as { code?: number }).code !== 404) throw e;
    // Removed by a user: register it again (the agent registers the built-ins only when it starts).
    img = await ctx.client.create<ImageObject>(IMAGES, { apiVersion: 'lodge.dev/v1alpha1', kind: 'Image', metadata: { name, labels: { 'lodge.dev/builtin': 'true' }, annotations: { [BUILD_REQUESTED]: requested } }, spec: { type: 'vm', source: { builtin: { name } } } } as KubeObject);
  }
  process.stdout.write(`image.lodge.dev/${String(img.metadata.name)}: build requested\n`);
  await waitForImage(ctx, name, 'build', opts.timeout, requested);
}
