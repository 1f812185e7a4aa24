// Image: a template for the root disk of instances: a rootfs for containers,
// a disk image for VMs, addressed by digest once imported. Cluster-scoped,
// like a hypervisor's template library: every namespace launches from it.
import { ageColumn, column } from '../../columns.js';
import { arr, obj, quantity, str, stringMap, time, enumOf, int64, type Schema } from '../../schema.js';
import type { FieldError, KubeObject, ObjectLookup, ResourceType } from '../../types.js';
import type { InstanceSpec } from './instance-types.js';
import { jsonEqual } from '../../core/v1/equality.js';
import { forbidden, invalid, notSupported, required } from '../../core/v1/field-errors.js';
import { check, dns1123Label, dns1123Subdomain } from '../../core/v1/name-validation.js';
import { conditionList, kindDefinition } from '../../meta/v1.js';
import { GROUP, VERSION, lodge, lodgeGVK, lodgeRef } from './names.js';

/** Images Lodge can build itself. */
export const BUILTIN_IMAGES = ['busybox', 'debian', 'debian-systemd', 'busybox-vm', 'debian-vm'] as const;
export const IMAGE_PHASES = ['Pending', 'Importing', 'Ready', 'Failed'] as const;
const SOURCE_KINDS = ['builtin', 'oci', 'rootfs', 'qcow2', 'publish'] as const;

type Download = { url?: string; path?: string; sha256?: string };
type ImageSource = {
  builtin?: { name?: string; release?: string };
  oci?: { reference?: string; path?: string };
  rootfs?: Download;
  qcow2?: Download;
  publish?: { instanceName?: string; namespace?: string; snapshotName?: string };
};
/** How an imported VM disk boots: Lodge boots kernels directly (no firmware), so the kernel comes with the disk. */
export type ImageBoot = { kernel?: string; initrd?: string; cmdline?: string };
type Image = KubeObject & {
  spec?: { type?: 'container' | 'vm'; source?: ImageSource; boot?: ImageBoot; architecture?: string; properties?: Record<string, string> };
  status?: {
    phase?: string;
    digest?: string;
    size?: number | string;
    format?: string;
    nodes?: string[];
    conditions?: Array<{ type?: string; status?: string; reason?: string; message?: string }>;
  };
};

/** The Ready condition's message unless the image is Ready: why it failed, or what it waits for. */
function readyMessage(img: Image): string {
  if (img.status?.phase === 'Ready') return '';
  return img.status?.conditions?.find((c) => c.type === 'Ready')?.message ?? '';
}

const download = (what: string): Schema =>
  obj(
    {
      url: str(`http(s) URL of the ${what}.`),
      path: str(`Absolute path of the ${what} on the node that imports it.`),
      sha256: str('Expected SHA-256 of the file (hex); checked after download.'),
    },
    { description: `Where to get the ${what}; exactly one of url and path.` },
  );

export const imageDefinitions: Record<string, Schema> = {
  [lodge('ImageBuiltinSource')]: obj(
    {
      name: str(`Which built-in image: ${BUILTIN_IMAGES.join(', ')}.`),
      release: str('Release to build, e.g. bookworm for debian; the latest stable when unset.'),
    },
    { required: ['name'], description: 'An image Lodge builds itself (busybox from its binary, debian with debootstrap).' },
  ),
  [lodge('ImageOCISource')]: obj(
    {
      reference: str('Registry reference, e.g. docker.io/library/debian:12.'),
      path: str('Absolute path of an OCI image layout directory or archive on the importing node.'),
    },
    { description: 'An OCI image; exactly one of reference and path.' },
  ),
  [lodge('ImageFileSource')]: download('file'),
  [lodge('ImagePublishSource')]: obj(
    {
      instanceName: str('The stopped instance whose root disk becomes the image.'),
      namespace: str('Namespace of that instance.'),
      snapshotName: str('Publish this snapshot of the instance instead of its current disk.'),
    },
    { required: ['instanceName', 'namespace'], description: 'An image made from an existing instance.' },
  ),
  [lodge('ImageSource')]: obj(
    {
      builtin: lodgeRef('ImageBuiltinSource', 'Built by Lodge.'),
      oci: lodgeRef('ImageOCISource', 'From an OCI image.'),
      rootfs: lodgeRef('ImageFileSource', 'From a root filesystem tarball (containers).'),
      qcow2: lodgeRef('ImageFileSource', 'From a disk image (VMs): qcow2 or raw, converted to qcow2 on import; spec.boot gives its kernel.'),
      publish: lodgeRef('ImagePublishSource', 'From an instance.'),
    },
    { description: 'Where the image comes from; exactly one field is set.' },
  ),
  [lodge('ImageBoot')]: obj(
    {
      kernel: str('Absolute path on the importing node of the kernel to boot (vmlinux, or a bzImage).'),
      initrd: str('Absolute path on the importing node of its initramfs, if it needs one.'),
      cmdline: str('Kernel command line for the disk, e.g. root=/dev/vda1 ro (the driver adds the console and its boot profile).'),
    },
    { required: ['kernel'], description: 'How an imported VM disk boots: Lodge boots the kernel directly.' },
  ),
  [lodge('ImageSpec')]: obj(
    {
      type: enumOf(['container', 'vm'], 'Kind of instance the image is for; vm for qcow2 sources, container otherwise when unset.'),
      source: lodgeRef('ImageSource', 'Where the image comes from.'),
      boot: lodgeRef('ImageBoot', 'For an imported VM disk: the kernel (and initramfs, command line) it boots with.'),
      architecture: str('CPU architecture, e.g. amd64; the importing node\'s when unset.'),
      properties: stringMap('Free-form descriptive properties: os, release, description, ...'),
    },
    { required: ['source'], description: 'Desired state of an image.' },
  ),
  [lodge('ImageStatus')]: obj(
    {
      observedGeneration: int64('The generation of the spec this status reflects.'),
      phase: enumOf([...IMAGE_PHASES], 'Pending, Importing, Ready or Failed.'),
      digest: str('Content digest of the imported image, sha256:<hex>.'),
      size: quantity('Size of the image in bytes.'),
      format: str('Stored format: oci-layout, rootfs, builtin, or vm (kernel, initramfs and a qcow2 disk).'),
      architecture: str('Architecture of the imported image.'),
      importedAt: time('When the import finished.'),
      nodes: arr(str(), { listType: 'set', description: 'Nodes holding a copy of the image.' }),
      conditions: conditionList('Imported, Ready, ... with progress in messages.'),
    },
    { description: 'Observed state of an image.' },
  ),
  [lodge('Image')]: kindDefinition(lodgeGVK('Image'), 'A template that instances start from.', {
    spec: lodgeRef('ImageSpec', 'Desired state of the image.'),
    status: lodgeRef('ImageStatus', 'Observed state of the image.'),
  }),
};

const asImage = (o: KubeObject): Image => o as Image;

/** The release a built-in debian Image without one gets (the node's image store agrees). */
export const DEFAULT_DEBIAN_RELEASE = 'bookworm';

/**
 * The Image a container's `image` names. An Image's name has no tag, so
 * `foo` and `foo:latest` mean Image foo; any busybox tag is the built-in
 * busybox, and `debian:bookworm` the built-in debian. Anything else is
 * returned as it is (and, having a tag, names no Image).
 */
export function imageNameForReference(ref: string): string {
  const colon = ref.lastIndexOf(':');
  const slash = ref.lastIndexOf('/');
  const [name, tag] = colon > slash ? [ref.slice(0, colon), ref.slice(colon + 1)] : [ref, undefined];
  if (name === 'busybox') return 'busybox';
  if (name === 'debian' && tag === DEFAULT_DEBIAN_RELEASE) return 'debian';
  return tag === 'latest' ? name : ref;
}

/** 1536 → "1.5Ki", 46200000 → "44Mi": binary units, as quantities are written. */
export function humanBytes(n: number | string | undefined): string {
  if (n === undefined || n === '') return '';
  const v = typeof n === 'number' ? n : Number(n);
  if (!Number.isFinite(v)) return String(n);
  const units = ['', 'Ki', 'Mi', 'Gi', 'Ti'];
  let x = v;
  let i = 0;
  while (x >= 1024 && i < units.length - 1) {
    x /= 1024;
    i++;
  }
  return i === 0 ? String(v) : `${x < 10 ? x.toFixed(1).replace(/\.0$/, '') : Math.round(x)}${units[i]}`;
}

/** sha256:0123456789ab… → sha256:0123456789ab, as docker images shortens ids. */
export function shortDigest(d: string | undefined): string {
  return d ? d.replace(/^(sha256:[0-9a-f]{12})[0-9a-f]*$/, '$1') : '';
}

const FINISHED_POD_PHASES = new Set(['Succeeded', 'Failed']);

type PodLike = KubeObject & { spec?: { containers?: Array<{ image?: string }>; initContainers?: Array<{ image?: string }>; ephemeralContainers?: Array<{ image?: string }> }; status?: { phase?: string } };

/** Pods not finished and Instances whose containers or disks start from the Image `name`. */
async function imageUsers(name: string, lookup: ObjectLookup): Promise<string[]> {
  const users: string[] = [];
  for (const p of (await lookup.list('', 'v1', 'pods')) as PodLike[]) {
    if (FINISHED_POD_PHASES.has(p.status?.phase ?? '')) continue;
    const s = p.spec ?? {};
    const refs = [...(s.containers ?? []), ...(s.initContainers ?? []), ...(s.ephemeralContainers ?? [])].map((c) => c.image ?? '');
    if (refs.some((r) => imageNameForReference(r) === name)) users.push(`pod ${p.metadata.namespace}/${p.metadata.name}`);
  }
  for (const i of (await lookup.list(GROUP, VERSION, 'instances')) as Array<KubeObject & { spec?: InstanceSpec }>) {
    const refs = [i.spec?.image, ...(i.spec?.disks ?? []).map((d) => d.image)];
    if (refs.some((r) => r !== undefined && imageNameForReference(r) === name)) users.push(`instance ${i.metadata.namespace}/${i.metadata.name}`);
  }
  return users;
}

function sourceKind(s: ImageSource | undefined): string | undefined {
  return SOURCE_KINDS.find((k) => s?.[k] !== undefined);
}

function validateDownload(field: string, d: Download): FieldError[] {
  const errs: FieldError[] = [];
  if ((d.url === undefined) === (d.path === undefined)) errs.push(required(field, 'exactly one of `url` and `path` must be set'));
  if (d.url !== undefined && !/^https?:\/\/\S+$/.test(d.url)) errs.push(invalid(`${field}.url`, d.url, 'must be an http or https URL'));
  if (d.path !== undefined && !d.path.startsWith('/')) errs.push(invalid(`${field}.path`, d.path, 'must be an absolute path'));
  if (d.sha256 !== undefined && !/^[0-9a-f]{64}$/.test(d.sha256)) errs.push(invalid(`${field}.sha256`, d.sha256, 'must be 64 lower-case hex digits'));
  return errs;
}

function validateImage(img: Image, old?: Image): FieldError[] {
  const spec = img.spec;
  if (!spec) return [required('spec')];
  const errs: FieldError[] = [];
  const src = spec.source ?? {};
  const set = SOURCE_KINDS.filter((k) => src[k] !== undefined);
  if (set.length === 0) errs.push(required('spec.source', `must specify one of: ${SOURCE_KINDS.map((k) => `\`${k}\``).join(', ')}`));
  if (set.length > 1) errs.push(forbidden(`spec.source.${set[1]}`, 'may not specify more than one source'));
  if (src.builtin?.name !== undefined && !(BUILTIN_IMAGES as readonly string[]).includes(src.builtin.name))
    errs.push(notSupported('spec.source.builtin.name', src.builtin.name, BUILTIN_IMAGES));
  if (src.oci && (src.oci.reference === undefined) === (src.oci.path === undefined))
    errs.push(required('spec.source.oci', 'exactly one of `reference` and `path` must be set'));
  if (src.oci?.path !== undefined && !src.oci.path.startsWith('/')) errs.push(invalid('spec.source.oci.path', src.oci.path, 'must be an absolute path'));
  if (src.rootfs) errs.push(...validateDownload('spec.source.rootfs', src.rootfs));
  if (src.qcow2) errs.push(...validateDownload('spec.source.qcow2', src.qcow2));
  if (src.qcow2 && spec.type !== 'vm') errs.push(invalid('spec.type', spec.type ?? 'container', 'a qcow2 image is for virtual machines; set type: vm'));
  // A disk on the node is imported now, so its kernel must be there too (a URL source is not imported yet; it fails on the node with its reason).
  if (src.qcow2?.path !== undefined && !spec.boot?.kernel) errs.push(required('spec.boot.kernel', 'a VM disk is booted with its kernel: give the path of its kernel on the node'));
  if (spec.boot && !src.qcow2) errs.push(forbidden('spec.boot', 'only for an imported VM disk (spec.source.qcow2)'));
  for (const f of ['kernel', 'initrd'] as const) {
    const v = spec.boot?.[f];
    if (v !== undefined && !v.startsWith('/')) errs.push(invalid(`spec.boot.${f}`, v, 'must be an absolute path'));
  }
  if (src.rootfs && spec.type === 'vm') errs.push(invalid('spec.type', spec.type, 'a rootfs tarball is for containers; set type: container'));
  if (src.publish) {
    errs.push(...check('spec.source.publish.instanceName', src.publish.instanceName, dns1123Subdomain));
    errs.push(...check('spec.source.publish.namespace', src.publish.namespace, dns1123Label));
  }
  if (old?.spec) {
    // An image is content: a different source or type is a different image.
    const { properties: _a, ...now } = spec;
    const { properties: _b, ...before } = old.spec;
    if (!jsonEqual(now, before)) errs.push(forbidden('spec', 'may not change except `properties`; create a new Image instead'));
  }
  return errs;
}

function sourceCell(img: Image): string {
  const s = img.spec?.source;
  switch (sourceKind(s)) {
    case 'builtin':
      return `builtin:${s!.builtin!.name ?? ''}${s!.builtin!.release ? `/${s!.builtin!.release}` : ''}`;
    case 'oci':
      return `oci:${s!.oci!.reference ?? s!.oci!.path ?? ''}`;
    case 'rootfs':
      return `rootfs:${s!.rootfs!.url ?? s!.rootfs!.path ?? ''}`;
    case 'qcow2':
      return `qcow2:${s!.qcow2!.url ?? s!.qcow2!.path ?? ''}`;
    case 'publish':
      return `publish:${s!.publish!.namespace ?? ''}/${s!.publish!.instanceName ?? ''}`;
    default:
      return '<none>';
  }
}

export const image: ResourceType = {
  group: GROUP,
  version: VERSION,
  kind: 'Image',
  plural: 'images',
  singular: 'image',
  shortNames: ['img'],
  categories: ['lodge'],
  namespaced: false,
  definition: lodge('Image'),
  statusSubresource: true,
  strategicMergePatch: false,
  columns: [
    column('Source', 'Where the image comes from.', (o) => sourceCell(asImage(o))),
    column('Digest', 'Content digest (shortened).', (o) => shortDigest(asImage(o).status?.digest)),
    column('Size', 'Size of the unpacked image.', (o) => humanBytes(asImage(o).status?.size)),
    column('Phase', 'Pending, Importing, Ready or Failed.', (o) => asImage(o).status?.phase ?? 'Pending'),
    ageColumn,
    column('Type', 'container or vm.', (o) => asImage(o).spec?.type ?? 'container', { priority: 1 }),
    column('Nodes', 'Nodes holding a copy.', (o) => (asImage(o).status?.nodes ?? []).join(','), { priority: 1 }),
    column('Message', 'Why the image is not Ready.', (o) => readyMessage(asImage(o)), { priority: 1 }),
  ],
  selectableFields: {
    'spec.type': (o) => asImage(o).spec?.type ?? '',
    'status.phase': (o) => asImage(o).status?.phase ?? '',
  },
  applyDefaults(o) {
    const spec = asImage(o).spec;
    if (spec) spec.type ??= spec.source?.qcow2 ? 'vm' : 'container';
  },
  validate(o, old) {
    return validateImage(asImage(o), old && asImage(old));
  },
  prepareForCreate(o) {
    asImage(o).status = { phase: 'Pending' };
  },
  deletion: {
    // A node never removes a rootfs a container runs on; refusing here says so before anything is deleted.
    inUseBy: (o, lookup) => imageUsers(String(o.metadata.name), lookup),
  },
  describe(o) {
    const img = asImage(o);
    return [
      `Type:      ${img.spec?.type ?? 'container'}`,
      `Source:    ${sourceCell(img)}`,
      `Status:    ${img.status?.phase ?? 'Pending'}`,
      `Digest:    ${img.status?.digest ?? ''}`,
      `Size:      ${humanBytes(img.status?.size)}`,
      `Format:    ${img.status?.format ?? ''}`,
      `Nodes:     ${(img.status?.nodes ?? []).join(', ') || '<none>'}`,
      ...(readyMessage(img) ? [`Message:   ${readyMessage(img)}`] : []),
      ...Object.entries(img.spec?.properties ?? {}).map(([k, v]) => `  ${k}: ${v}`),
    ];
  },
};
