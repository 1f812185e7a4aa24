// The node's side of the Image kind: it keeps this node's image store in
// step with the Image resources and reports what it holds in their status.
// Images whose source is a path on this node (an OCI layout directory or
// archive, a rootfs tarball) are imported under the Image's name; built-in
// Images are registered at start (busybox is built at once, debian with
// debootstrap the first time a Pod asks for it; the VM images busybox-vm and
// debian-vm on first launch, or now when `lodge image build` asks through the
// lodge.dev/build-requested annotation); Images published from an instance
// (spec.source.publish) are made by the node that holds the instance, from
// its current disk when it is stopped or from one of its snapshots
// (images/publish.ts); an Image that goes is
// removed from the store once no container of this node runs on it.
// Level-triggered: a resync compares every Image with the store again, so
// a missed event or an agent restart costs latency, never correctness.
import { access, constants, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { builtinImageName, DEFAULT_DEBIAN_RELEASE as STORE_DEBIAN_RELEASE } from './images/builtin.js';
import { DEFAULT_DEBIAN_RELEASE, imageNameForReference } from '../apis/lodge/v1alpha1/image.js';
import type { Instance } from '../apis/lodge/v1alpha1/instance-types.js';
import type { Snapshot } from '../apis/lodge/v1alpha1/snapshot.js';
import type { KubeObject } from '../apis/types.js';
import { isAlreadyExists, isNotFound, type KubeClient } from '../client/index.js';
import { ClientInformer } from '../client/informer.js';
import { IMAGES, INSTANCES, NODES, SNAPSHOTS } from '../client/refs.js';
import { WorkQueue } from '../controllers/runtime/workqueue.js';
import type { Logger } from '../util/log.js';
import { storeImageName } from './container-spec.js';
import { ImageInUseError, ImageNotFoundError, type ImageRecord, type ImageStore } from './images/index.js';
import { cleanPublishScratch, publishContainerLayers, publishVmLayer } from './images/publish.js';
import { VM_IMAGE_NAMES, type VmImageName, type VmImages } from './images/vm/index.js';
import { ContainerLayerStore } from './storage/container-layer-store.js';
import { readStorageRecord, type SnapshotRecord } from './storage/storage-record.js';
import { VmDiskStore } from './storage/vm-disk-store.js';

const MANAGER = 'lodge-agent';
/** Compare every Image with the store this often. */
const RESYNC_MS = 10_000;
/** Try again this soon to remove an image a container still runs on. */
const IN_USE_RETRY_MS = 5_000;

type Condition = { type: string; status: 'True' | 'False'; reason: string; message: string; lastTransitionTime?: string };
type Source = {
  builtin?: { name?: string; release?: string };
  oci?: { reference?: string; path?: string };
  rootfs?: { url?: string; path?: string; sha256?: string };
  qcow2?: { url?: string; path?: string };
  publish?: PublishSource;
};
type PublishSource = { instanceName?: string; namespace?: string; snapshotName?: string };
/** Try again this soon to publish a snapshot that is not Ready yet. */
const SNAPSHOT_WAIT_MS = 2_000;
type Image = KubeObject & {
  spec?: { type?: string; source?: Source };
  status?: { phase?: string; digest?: string; nodes?: string[]; conditions?: Condition[]; observedGeneration?: number; [k: string]: unknown };
};

/** The status this node wants an Image to have; fields left out are cleared. */
interface WantedStatus {
  phase: 'Pending' | 'Importing' | 'Ready' | 'Failed';
  reason: string;
  message: string;
  record?: Pick<ImageRecord, 'digest' | 'size' | 'format' | 'architecture' | 'importedAt'> | { digest: string; size: number; format: 'vm'; architecture: string; importedAt: string };
  /** Whether this node holds the image. */
  held: boolean;
}

export interface ImageControllerOptions {
  client: KubeClient;
  nodeName: string;
  images: ImageStore;
  log: Logger;
  /** The Pods bound to this node (the agent's informer cache): their containers keep images in use. */
  pods: () => KubeObject[];
  /** The node's VM images, when it can run VMs. */
  vmImages?: VmImages;
  /** The agent's data dir: instances' disks (<dataDir>/instances/<uid>) for publishing them, and the scratch space for it. */
  dataDir?: string;
}

/** Set by `lodge image build NAME`: build the (VM) image now rather than on first use; any new value asks again. */
export const BUILD_REQUESTED_ANNOTATION = 'lodge.dev/build-requested';

/** The built-in Images every node registers. */
const BUILTINS: Array<{ name: string; type?: 'vm'; source: Source; properties: Record<string, string> }> = [
  { name: 'busybox', source: { builtin: { name: 'busybox' } }, properties: { os: 'busybox', description: "the host's static busybox" } },
  {
    name: 'debian',
    source: { builtin: { name: 'debian', release: DEFAULT_DEBIAN_RELEASE } },
    properties: { os: 'Debian', release: DEFAULT_DEBIAN_RELEASE, description: 'minimal Debian (debootstrap), built on first use' },
  },
  {
    name: 'debian-systemd',
    source: { builtin: { name: 'debian-systemd' } },
    properties: { os: 'Debian', release: DEFAULT_DEBIAN_RELEASE, description: 'Debian (debootstrap) with systemd as init for system containers, built on first use' },
  },
  { name: 'busybox-vm', type: 'vm', source: { builtin: { name: 'busybox-vm' } }, properties: { os: 'busybox', description: "Debian's cloud kernel and a busybox root disk, built on first launch" } },
  { name: 'debian-vm', type: 'vm', source: { builtin: { name: 'debian-vm' } }, properties: { os: 'Debian', release: DEFAULT_DEBIAN_RELEASE, description: "Debian's cloud kernel and a debootstrap root disk with systemd, built on first launch" } },
];

export class ImageController {
  readonly informer: ClientInformer;
  readonly #o: ImageControllerOptions;
  readonly #queue = new WorkQueue();
  readonly #log: Logger;
  /** Store names being imported or built in this process, with the last progress line. */
  readonly #working = new Map<string, string>();
  readonly #writes = new Map<string, Promise<void>>();
  /** Built-ins whose build failed in this process: tried again when the agent restarts, not every resync. */
  readonly #failedBuilds = new Set<string>();

  constructor(o: ImageControllerOptions) {
    this.#o = o;
    this.#log = o.log.child({ component: 'images' });
    this.informer = new ClientInformer(o.client, IMAGES, {}, this.#log);
    this.informer.addHandlers({
      onAdd: (i) => this.#queue.add(String(i.metadata.name)),
      onUpdate: (_o, i) => this.#queue.add(String(i.metadata.name)),
      onDelete: (i) => this.#queue.add(String(i.metadata.name)),
    });
  }

  /** Runs until the signal aborts; resolves once the Images are listed and the built-ins registered. */
  async start(signal: AbortSignal): Promise<{ done: Promise<void> }> {
    const informerDone = this.informer.run(signal);
    await this.informer.hasSynced;
    // A publish killed mid-way may have left its read-only mount and its tarball.
    if (this.#o.dataDir) await cleanPublishScratch(this.#publishScratch(this.#o.dataDir)).catch((e: Error) => this.#log.warn('cannot clean the publish scratch dir', { error: e.message }));
    await this.#registerBuiltins().catch((e: Error) => this.#log.warn('cannot register the built-in images', { error: e.message }));
    const resync = setInterval(() => void this.#resync().catch((e: Error) => this.#log.warn('image resync failed', { error: e.message })), RESYNC_MS);
    resync.unref();
    signal.addEventListener('abort', () => {
      clearInterval(resync);
      this.#queue.stop();
    });
    await this.#resync();
    const done = Promise.all([
      informerDone,
      this.#queue.run((name) => this.#sync(name), (name, err) => this.#log.warn('image sync failed', { image: name, error: (err as Error).message }), 2),
    ]).then(() => undefined);
    return { done };
  }

  /**
   * The store name of a container's image: the Image it names (`foo`,
   * `foo:latest`; a built-in Image's store name is busybox or
   * debian:<release>), else the store's own reading of the reference.
   */
  storeName(ref: string): string {
    const img = this.informer.cache.get(imageNameForReference(ref)) as Image | undefined;
    const src = img?.spec?.source;
    if (src?.builtin?.name) return builtinImageName(src.builtin.name, src.builtin.release ?? STORE_DEBIAN_RELEASE);
    if (img && (src?.oci?.path || src?.rootfs?.path || src?.publish)) return String(img.metadata.name);
    return storeImageName(ref);
  }

  /** Who on this node runs on the store image `name` (the store's in-use check): "pod ns/name". */
  usersOf(name: string): string[] {
    const users: string[] = [];
    for (const p of this.#o.pods()) {
      const spec = (p.spec ?? {}) as { containers?: Array<{ image?: string }>; initContainers?: Array<{ image?: string }> };
      const refs = [...(spec.containers ?? []), ...(spec.initContainers ?? [])].map((c) => c.image ?? '');
      if (refs.some((r) => this.storeName(r) === name)) users.push(`pod ${p.metadata.namespace}/${p.metadata.name}`);
    }
    return users;
  }

  /** The store's progress lines ("debian:bookworm: building"): shown in the Image's Ready condition while it imports. */
  progress(line: string): void {
    this.#log.info(line);
    const m = /^(\S+?): (.*)$/.exec(line);
    if (!m) return;
    const [, storeName, message] = m as unknown as [string, string, string];
    const isNew = !this.#working.has(storeName);
    this.#working.set(storeName, message);
    // A built-in that a Pod's start is building: its Image turns Importing now, Ready when done.
    for (const img of this.#imagesFor(storeName)) {
      if (isNew || /^imported /.test(message)) this.#queue.add(String(img.metadata.name));
      else void this.#writeStatus(img, { phase: 'Importing', reason: 'Importing', message, held: false }).catch(() => undefined);
    }
    if (/^imported /.test(message)) this.#working.delete(storeName);
  }

  /** Images whose store name is `storeName`. */
  #imagesFor(storeName: string): Image[] {
    return (this.informer.list() as Image[]).filter((i) => this.#storeNameOf(i) === storeName);
  }

  #storeNameOf(img: Image): string | undefined {
    const src = img.spec?.source;
    if (src?.builtin?.name) return builtinImageName(src.builtin.name, src.builtin.release ?? STORE_DEBIAN_RELEASE);
    if (src?.oci?.path || src?.rootfs?.path || src?.publish) return String(img.metadata.name);
    return undefined;
  }

  async #registerBuiltins(): Promise<void> {
    for (const b of BUILTINS) {
      if (this.informer.cache.has(b.name)) continue;
      const obj = {
        apiVersion: 'lodge.dev/v1alpha1',
        kind: 'Image',
        metadata: { name: b.name, labels: { 'lodge.dev/builtin': 'true' } },
        spec: { type: b.type ?? 'container', source: b.source, properties: b.properties },
      } as KubeObject;
      try {
        await this.#o.client.create(IMAGES, obj, { fieldManager: MANAGER });
        this.#log.info('registered built-in image', { image: b.name });
      } catch (e) {
        if (!isAlreadyExists(e)) throw e;
      }
    }
  }

  /** Every Image, and every image of the store that no Image names any more. */
  async #resync(): Promise<void> {
    for (const img of this.informer.list()) this.#queue.add(String(img.metadata.name));
    for (const rec of await this.#o.images.list()) {
      if (rec.format !== 'builtin' && !this.informer.cache.has(rec.name)) this.#queue.add(rec.name);
    }
  }

  async #sync(name: string): Promise<void> {
    const img = this.informer.cache.get(name) as Image | undefined;
    if (!img || img.metadata.deletionTimestamp) {
      await this.#removeVmImport(name);
      return this.#removeFromStore(name, img);
    }
    const src = img.spec?.source ?? {};
    if (src.builtin?.name && (VM_IMAGE_NAMES as readonly string[]).includes(src.builtin.name)) return this.#syncVmBuiltin(img, src.builtin.name as VmImageName);
    if (src.builtin?.name) return this.#syncBuiltin(img, src.builtin.name, src.builtin.release);
    if (src.qcow2?.path) return this.#syncVmImport(img, src.qcow2.path);
    if (src.oci?.path) return this.#syncImport(img, 'oci', src.oci.path);
    if (src.rootfs?.path) return this.#syncImport(img, 'rootfs', src.rootfs.path);
    if (src.publish?.instanceName) {
      // Read afresh: the cache may not have this node's last verdict yet (the store's "imported" line requeues the Image at once), and a stale status would publish again.
      let fresh: Image;
      try {
        fresh = await this.#o.client.get<Image>(IMAGES, name);
      } catch (e) {
        if (isNotFound(e)) return;
        throw e;
      }
      if (fresh.metadata.uid !== img.metadata.uid || fresh.metadata.deletionTimestamp) return this.#queue.addAfter(name, 500);
      return this.#syncPublish(fresh, src.publish);
    }
    const what = src.oci?.reference
      ? 'pulling from a registry (spec.source.oci.reference)'
      : src.rootfs?.url || src.qcow2?.url
        ? 'downloading from a URL'
        : 'this source';
    const help = 'copy the image to the node and use spec.source.oci.path or spec.source.rootfs.path (lodge image import FILE NAME)';
    await this.#writeStatus(img, { phase: 'Failed', reason: 'Unsupported', message: `${what} is not supported yet by node ${this.#o.nodeName}; ${help}`, held: false });
  }

  async #syncBuiltin(img: Image, builtin: string, release?: string): Promise<void> {
    const storeName = builtinImageName(builtin, release ?? STORE_DEBIAN_RELEASE);
    let rec = await this.#o.images.get(storeName);
    if (!rec && builtin === 'busybox' && !this.#failedBuilds.has(storeName)) {
      // Seconds: a copy of the host's static busybox and its applet links.
      this.#working.set(storeName, 'building');
      await this.#writeStatus(img, { phase: 'Importing', reason: 'Building', message: 'building from the host\'s busybox', held: false });
      try {
        rec = await this.#o.images.ensureBuiltin(storeName);
      } catch (e) {
        this.#failedBuilds.add(storeName);
        return this.#writeStatus(img, { phase: 'Failed', reason: 'BuildFailed', message: (e as Error).message, held: false });
      } finally {
        this.#working.delete(storeName);
      }
    }
    if (rec) return this.#writeStatus(img, { phase: 'Ready', reason: 'Built', message: `built on node ${this.#o.nodeName}`, record: rec, held: true });
    if (this.#failedBuilds.has(storeName)) return;
    const building = this.#working.get(storeName);
    if (building !== undefined) return this.#writeStatus(img, { phase: 'Importing', reason: 'Building', message: building, held: false });
    await this.#writeStatus(img, {
      phase: 'Pending',
      reason: 'NotBuilt',
      message: `built with debootstrap when a Pod first uses it (${storeName}; takes a few minutes)`,
      held: false,
    });
  }

  /** A built-in VM image: reported when built, built when asked (or by the first launch, which the status then follows). */
  async #syncVmBuiltin(img: Image, name: VmImageName): Promise<void> {
    const vm = this.#o.vmImages;
    if (!vm) return this.#writeStatus(img, { phase: 'Failed', reason: 'NoVirtualization', message: `node ${this.#o.nodeName} cannot run virtual machines (no QEMU)`, held: false });
    const asked = img.metadata.annotations?.[BUILD_REQUESTED_ANNOTATION];
    const built = await vm.get(name);
    if (built && !(asked && this.#failedBuilds.has(`${name}@${asked}`))) {
      const importedAt = (await stat(built.disk.path).catch(() => undefined))?.mtime.toISOString() ?? new Date().toISOString();
      return this.#writeStatus(img, { phase: 'Ready', reason: 'Built', message: `built on node ${this.#o.nodeName} (kernel ${built.kernelRelease})`, record: { digest: built.digest, size: built.sizeBytes, format: 'vm', architecture: 'amd64', importedAt }, held: true });
    }
    if (this.#working.has(name)) return this.#writeStatus(img, { phase: 'Importing', reason: 'Building', message: this.#working.get(name)!, held: false });
    if (!asked || this.#failedBuilds.has(`${name}@${asked}`)) {
      if (asked) return;
      return this.#writeStatus(img, { phase: 'Pending', reason: 'NotBuilt', message: `built from Debian packages on first launch, or now with lodge image build ${name}`, held: false });
    }
    this.#working.set(name, 'starting the build');
    await this.#writeStatus(img, { phase: 'Importing', reason: 'Building', message: 'starting the build', held: false });
    try {
      await vm.ensure(name, (step) => {
        this.#working.set(name, step);
        void this.#writeStatus(img, { phase: 'Importing', reason: 'Building', message: step, held: false }).catch(() => undefined);
      });
    } catch (e) {
      this.#failedBuilds.add(`${name}@${asked}`);
      this.#log.warn('VM image build failed', { image: name, error: (e as Error).message });
      return this.#writeStatus(img, { phase: 'Failed', reason: 'BuildFailed', message: (e as Error).message, held: false });
    } finally {
      this.#working.delete(name);
    }
    this.#queue.add(name);
  }

  /** An imported VM disk with its kernel (spec.source.qcow2 + spec.boot), into the node's VM images. */
  async #syncVmImport(img: Image, path: string): Promise<void> {
    const name = String(img.metadata.name);
    const vm = this.#o.vmImages;
    if (!vm) return this.#writeStatus(img, { phase: 'Failed', reason: 'NoVirtualization', message: `node ${this.#o.nodeName} cannot run virtual machines (no QEMU)`, held: false });
    const st = img.status ?? {};
    const ready = async (built: { digest: string; sizeBytes: number; disk: { path: string } }): Promise<void> => {
      const importedAt = (await stat(built.disk.path).catch(() => undefined))?.mtime.toISOString() ?? new Date().toISOString();
      await this.#writeStatus(img, { phase: 'Ready', reason: 'Imported', message: `imported on node ${this.#o.nodeName}`, record: { digest: built.digest, size: built.sizeBytes, format: 'vm', architecture: 'amd64', importedAt }, held: true });
    };
    // Imported by this Image (its status says so), or a failure that stays final for it.
    const built = await vm.get(name);
    if (built && st.digest === built.digest) return ready(built);
    if (st.phase === 'Failed' && st.observedGeneration === img.metadata.generation) return;
    if (this.#working.has(name)) return;
    const boot = (img.spec as { boot?: { kernel?: string; initrd?: string; cmdline?: string } } | undefined)?.boot ?? {};
    this.#working.set(name, 'importing');
    try {
      await this.#writeStatus(img, { phase: 'Importing', reason: 'Importing', message: `importing ${path} with kernel ${boot.kernel ?? '?'}`, held: false });
      const done = await vm.importDisk(name, { disk: path, kernel: String(boot.kernel), initrd: boot.initrd, cmdline: boot.cmdline });
      this.#log.info('imported VM image', { image: name, digest: done.digest, source: path });
      await ready(done);
    } catch (e) {
      this.#log.warn('VM image import failed', { image: name, error: (e as Error).message });
      await this.#writeStatus(img, { phase: 'Failed', reason: 'ImportFailed', message: (e as Error).message, held: false });
    } finally {
      this.#working.delete(name);
    }
  }

  #publishScratch(dataDir: string): string {
    return join(dataDir, 'publish');
  }

  /**
   * An Image published from an instance (lodge publish): made by the node
   * holding the instance, from its current disk when it is stopped or from
   * one of its Ready snapshots (running or not), into this node's image
   * store (a rootfs image) or VM images (a standalone disk with the kernel
   * of the instance's image). Independent of the instance once made.
   */
  async #syncPublish(img: Image, p: PublishSource): Promise<void> {
    const name = String(img.metadata.name);
    const me = this.#o.nodeName;
    const ns = p.namespace ?? 'default';
    const instanceName = String(p.instanceName);
    const what = `instance ${ns}/${instanceName}${p.snapshotName ? ` (snapshot ${p.snapshotName})` : ''}`;
    const isVm = img.spec?.type === 'vm';
    const st = img.status ?? {};
    const readyMessage = `published from ${what} on node ${me}`;
    // Made here already: the store holds what this Image's status names.
    const have = isVm ? await this.#o.vmImages?.get(name) : await this.#o.images.get(name);
    if (have && st.digest === have.digest) {
      const record = 'sizeBytes' in have ? await this.#vmRecord(have) : have;
      return this.#writeStatus(img, { phase: 'Ready', reason: 'Published', message: readyMessage, record, held: true });
    }
    // The spec cannot change, so a failure is final for this Image: delete it and publish again.
    if (st.phase === 'Failed' && st.observedGeneration === img.metadata.generation) return;
    if (this.#working.has(name)) return;
    const fail = (reason: string, message: string): Promise<void> => this.#writeStatus(img, { phase: 'Failed', reason, message, held: false });
    const dataDir = this.#o.dataDir;
    if (!dataDir) return fail('Unsupported', `node ${me} cannot publish instances (its agent was started without a data dir)`);

    let inst: Instance;
    try {
      inst = await this.#o.client.get<Instance>(INSTANCES, instanceName, { namespace: ns });
    } catch (e) {
      if (isNotFound(e)) return fail('InstanceNotFound', `instance ${ns}/${instanceName} not found`);
      throw e;
    }
    const holder = inst.status?.nodeName ?? inst.spec?.nodeName;
    if (holder !== me) {
      if (!holder) return fail('InstanceNotPlaced', `instance ${ns}/${instanceName} has not been placed on a node yet: it has no disk to publish`);
      // Only the node holding the instance publishes it; nobody can when that node is gone.
      if (await this.#nodeExists(holder)) return;
      return fail('NodeNotFound', `instance ${ns}/${instanceName} is on node ${holder}, which is not registered: no node can publish it`);
    }
    const instType = inst.spec?.type ?? 'container';
    if (instType !== (img.spec?.type ?? 'container')) {
      return fail('TypeMismatch', `instance ${ns}/${instanceName} is a ${instType === 'vm' ? 'VM' : 'system container'}; the Image must have spec.type ${instType}`);
    }
    const uid = String(inst.metadata.uid);
    const dir = join(dataDir, 'instances', uid);
    let snap: SnapshotRecord | undefined;
    if (p.snapshotName) {
      const obj = await this.#findSnapshot(ns, instanceName, p.snapshotName);
      if (!obj) return fail('SnapshotNotFound', `snapshot ${p.snapshotName} of instance ${ns}/${instanceName} not found (neither ${p.snapshotName} nor ${instanceName}.${p.snapshotName})`);
      const phase = obj.status?.phase ?? 'Pending';
      if (obj.metadata.deletionTimestamp) return fail('SnapshotDeleted', `snapshot ${String(obj.metadata.name)} is being deleted`);
      if (phase === 'Failed') return fail('SnapshotFailed', `snapshot ${String(obj.metadata.name)} failed${obj.status?.message ? `: ${obj.status.message}` : ''}`);
      if (phase !== 'Ready') {
        this.#queue.addAfter(name, SNAPSHOT_WAIT_MS);
        return this.#writeStatus(img, { phase: 'Pending', reason: 'SnapshotNotReady', message: `waiting for snapshot ${String(obj.metadata.name)} to be Ready (it is ${phase})`, held: false });
      }
      snap = (await readStorageRecord(dir)).snapshots[String(obj.metadata.uid)];
      if (!snap) return fail('SnapshotNotFound', `snapshot ${String(obj.metadata.name)} has no data on node ${me}`);
    } else if (inst.status?.phase !== 'Stopped') {
      return fail(
        'InstanceNotStopped',
        `instance ${ns}/${instanceName} is ${inst.status?.phase ?? 'Pending'}, not Stopped: publish a stopped instance (lodge stop ${instanceName}), or a snapshot of a running one (lodge publish ${instanceName}/SNAPSHOT ${name})`,
      );
    }

    this.#working.set(name, 'publishing');
    try {
      await this.#writeStatus(img, { phase: 'Importing', reason: 'Publishing', message: `publishing ${what}`, held: false });
      const scratch = this.#publishScratch(dataDir);
      if (isVm) {
        const vm = this.#o.vmImages;
        if (!vm) return await fail('NoVirtualization', `node ${me} cannot run virtual machines (no QEMU)`);
        const srcRef = inst.spec?.image ?? '';
        const source = (await vm.get(srcRef)) ?? (await vm.get(imageNameForReference(srcRef)));
        if (!source) return await fail('SourceImageNotFound', `VM image ${srcRef} (the instance's image) is not on node ${me}: its kernel is what the published disk boots with`);
        if (snap && !snap.layer) return await fail('SnapshotNotFound', `snapshot ${p.snapshotName ?? ''} holds no disk layer`);
        const layer = snap?.layer ?? (await new VmDiskStore(dir).activeDisk());
        if (!(await stat(layer).then(() => true, () => false))) return await fail('NoDisk', snap ? `the layer of snapshot ${p.snapshotName ?? ''} is missing (${layer})` : `instance ${ns}/${instanceName} has no disk yet: start it once first`);
        const done = await publishVmLayer(vm, name, layer, source, scratch);
        this.#log.info('published VM image', { image: name, from: what, digest: done.digest });
        await this.#writeStatus(img, { phase: 'Ready', reason: 'Published', message: readyMessage, record: await this.#vmRecord(done), held: true });
      } else {
        let prepared;
        try {
          prepared = await this.#o.images.prepare(this.storeName(inst.spec?.image ?? ''));
        } catch (e) {
          if (e instanceof ImageNotFoundError) return await fail('SourceImageNotFound', `image ${inst.spec?.image ?? ''} (the instance's image) is not on node ${me}: its layers are under the instance's own`);
          throw e;
        }
        const store = new ContainerLayerStore(dir);
        const top = snap ? snap.upper : store.upper;
        if (!top) return await fail('SnapshotNotFound', `snapshot ${p.snapshotName ?? ''} holds no container layer`);
        const layers = [top, ...(await store.lowerDirs(prepared.rootfs.lowerDirs))];
        const done = await publishContainerLayers(this.#o.images, name, layers, prepared.config, scratch, { replace: have !== undefined });
        this.#log.info('published image', { image: name, from: what, digest: done.digest });
        await this.#writeStatus(img, { phase: 'Ready', reason: 'Published', message: readyMessage, record: done, held: true });
      }
    } catch (e) {
      if (e instanceof ImageInUseError) {
        // Replacing what a container runs on must wait for it.
        this.#queue.addAfter(name, IN_USE_RETRY_MS);
        return this.#writeStatus(img, { phase: 'Pending', reason: 'InUse', message: e.message, held: false });
      }
      this.#log.warn('publishing failed', { image: name, from: what, error: (e as Error).message });
      await this.#writeStatus(img, { phase: 'Failed', reason: 'PublishFailed', message: `publishing ${what} failed: ${(e as Error).message}`, held: false });
    } finally {
      this.#working.delete(name);
    }
  }

  async #vmRecord(built: { digest: string; sizeBytes: number; disk: { path: string } }): Promise<WantedStatus['record']> {
    const importedAt = (await stat(built.disk.path).catch(() => undefined))?.mtime.toISOString() ?? new Date().toISOString();
    return { digest: built.digest, size: built.sizeBytes, format: 'vm', architecture: 'amd64', importedAt };
  }

  /** The Snapshot of the instance by object name, or by the short name lodge snapshot gives (<instance>.<name>). */
  async #findSnapshot(ns: string, instanceName: string, name: string): Promise<Snapshot | undefined> {
    for (const n of [name, `${instanceName}.${name}`]) {
      try {
        const s = await this.#o.client.get<Snapshot>(SNAPSHOTS, n, { namespace: ns });
        if (s.spec?.instanceName === instanceName) return s;
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    return undefined;
  }

  async #nodeExists(node: string): Promise<boolean> {
    try {
      await this.#o.client.get(NODES, node);
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
  }

  /** An imported VM image whose Image is gone leaves the node (the API refuses that while Instances use it). */
  async #removeVmImport(name: string): Promise<void> {
    const vm = this.#o.vmImages;
    if (!vm || (VM_IMAGE_NAMES as readonly string[]).includes(name) || this.#working.has(name)) return;
    if (!(await vm.get(name))) return;
    await vm.remove(name);
    this.#log.info('removed VM image from the node', { image: name });
  }

  async #syncImport(img: Image, type: 'oci' | 'rootfs', path: string): Promise<void> {
    const name = String(img.metadata.name);
    const rec = await this.#o.images.get(name);
    if (rec && rec.source === path) {
      return this.#writeStatus(img, { phase: 'Ready', reason: 'Imported', message: `imported on node ${this.#o.nodeName}`, record: rec, held: true });
    }
    const st = img.status ?? {};
    // The spec cannot change, so a failure is final for this Image: delete it and import again.
    if (st.phase === 'Failed' && st.observedGeneration === img.metadata.generation) return;
    if (this.#working.has(name)) return;
    try {
      await access(path, constants.R_OK);
    } catch (e) {
      // In a cluster only the node with the file imports it; others leave the status to that one.
      if ((st.nodes ?? []).some((n) => n !== this.#o.nodeName)) return;
      const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message;
      return this.#writeStatus(img, {
        phase: 'Failed',
        reason: 'FileNotFound',
        message: `cannot read ${path} on node ${this.#o.nodeName}: ${why} (the file must be on the node that imports it)`,
        held: false,
      });
    }
    this.#working.set(name, 'starting');
    try {
      await this.#writeStatus(img, { phase: 'Importing', reason: 'Importing', message: `importing ${path}`, held: false });
      const opts = { replace: rec !== undefined };
      const done = type === 'oci' ? await this.#o.images.importOci(path, name, opts) : await this.#o.images.importRootfs(path, name, opts);
      this.#log.info('imported image', { image: name, digest: done.digest, source: path });
      await this.#writeStatus(img, { phase: 'Ready', reason: 'Imported', message: `imported on node ${this.#o.nodeName}`, record: done, held: true });
    } catch (e) {
      if (e instanceof ImageInUseError) {
        // Replacing what a container runs on must wait for it.
        this.#queue.addAfter(name, IN_USE_RETRY_MS);
        return this.#writeStatus(img, { phase: 'Pending', reason: 'InUse', message: e.message, held: false });
      }
      const kind = type === 'oci' ? 'OCI image layout or archive' : 'rootfs tarball';
      this.#log.warn('image import failed', { image: name, error: (e as Error).message });
      await this.#writeStatus(img, { phase: 'Failed', reason: 'ImportFailed', message: `importing ${path} as an ${kind} failed: ${(e as Error).message}`, held: false });
    } finally {
      this.#working.delete(name);
    }
  }

  /** The Image is gone: its image leaves the store, once no container here runs on it. Built-ins stay (they cost nothing to keep). */
  async #removeFromStore(name: string, img: Image | undefined): Promise<void> {
    const storeName = img ? this.#storeNameOf(img) : name;
    if (!storeName) return;
    const rec = await this.#o.images.get(storeName).catch(() => undefined);
    if (!rec || rec.format === 'builtin' || this.#working.has(storeName)) return;
    try {
      await this.#o.images.remove(storeName);
      this.#log.info('removed image from the node store', { image: storeName });
    } catch (e) {
      if (!(e instanceof ImageInUseError)) throw e;
      this.#log.info('image still in use on this node; removing it later', { image: storeName, users: e.users });
      this.#queue.addAfter(name, IN_USE_RETRY_MS);
    }
  }

  /** Status writes of one Image go out in order: a progress line never lands after the verdict. */
  async #writeStatus(img: Image, w: WantedStatus): Promise<void> {
    const name = String(img.metadata.name);
    const next = (this.#writes.get(name) ?? Promise.resolve()).catch(() => undefined).then(() => this.#patchStatus(img, w));
    this.#writes.set(name, next);
    try {
      await next;
    } finally {
      if (this.#writes.get(name) === next) this.#writes.delete(name);
    }
  }

  async #patchStatus(img: Image, w: WantedStatus): Promise<void> {
    const old = img.status ?? {};
    const me = this.#o.nodeName;
    const others = (old.nodes ?? []).filter((n) => n !== me);
    const nodes = w.held ? [...others, me].sort() : others;
    const r = w.record;
    const oldReady = old.conditions?.find((c) => c.type === 'Ready');
    const readyStatus = w.phase === 'Ready' ? 'True' : 'False';
    const ready: Condition = {
      type: 'Ready',
      status: readyStatus,
      reason: w.reason,
      message: w.message,
      lastTransitionTime: oldReady?.status === readyStatus && oldReady.lastTransitionTime ? oldReady.lastTransitionTime : new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    };
    const status: Record<string, unknown> = {
      observedGeneration: img.metadata.generation,
      phase: w.phase,
      // Another node's copy keeps its digest when this one fails.
      digest: r?.digest ?? (others.length ? old.digest : undefined),
      size: r?.size ?? (others.length ? old.size : undefined),
      format: r?.format ?? (others.length ? old.format : undefined),
      architecture: r?.architecture ?? (others.length ? old.architecture : undefined),
      importedAt: r?.importedAt.replace(/\.\d+Z$/, 'Z') ?? (others.length ? old.importedAt : undefined),
      nodes: nodes.length ? nodes : undefined,
      conditions: [...(old.conditions ?? []).filter((c) => c.type !== 'Ready'), ready],
    };
    const same = Object.entries(status).every(([k, v]) =>
      k === 'conditions' ? JSON.stringify(old.conditions?.map(({ lastTransitionTime: _t, ...c }) => c)) === JSON.stringify((v as Condition[]).map(({ lastTransitionTime: _t, ...c }) => c)) : JSON.stringify(old[k]) === JSON.stringify(v),
    );
    if (same) return;
    const patch = { status: Object.fromEntries(Object.entries(status).map(([k, v]) => [k, v ?? null])) };
    try {
      const updated = await this.#o.client.patch<Image>(IMAGES, String(img.metadata.name), patch, 'application/merge-patch+json', { subresource: 'status', fieldManager: MANAGER });
      // Later writes of this sync compare against what was just written, not the stale cache.
      img.status = updated.status;
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}
