// Volumes of a pod. The common sources are modelled field by field; the
// cloud- and vendor-specific in-tree sources (gcePersistentDisk, awsElasticBlockStore,
// azureDisk, azureFile, cinder, cephfs, rbd, iscsi, fc, glusterfs, flocker,
// flexVolume, gitRepo, vsphereVolume, quobyte, photonPersistentDisk,
// portworxVolume, scaleIO, storageos) are accepted as freeform objects so
// manifests carrying them are kept, not rejected; Lodge does not mount them.
import { bool, freeform, int32, int64, obj, quantity, str, stringMap, enumOf, type Schema } from '../../schema.js';
import { labelSelector, objectMeta } from '../../meta/v1.js';
import { atomicList, core, coreRef, withDefault } from './names.js';

const FILE_MODE = 0o644;

const mode = (what: string): Schema =>
  int32(`Permission bits for ${what}, 0000-0777 (YAML accepts octal like 0644, JSON needs decimal like 420).`);

const keyItems = (what: string): Schema =>
  atomicList(coreRef('KeyToPath'), `Which keys of the ${what} to project and where; all keys as files named after them when empty.`);

/** Vendor volume sources kept as sent. */
const OPAQUE_SOURCES = [
  'gcePersistentDisk',
  'awsElasticBlockStore',
  'gitRepo',
  'iscsi',
  'glusterfs',
  'rbd',
  'flexVolume',
  'cinder',
  'cephfs',
  'flocker',
  'fc',
  'azureFile',
  'vsphereVolume',
  'quobyte',
  'azureDisk',
  'photonPersistentDisk',
  'portworxVolume',
  'scaleIO',
  'storageos',
] as const;

/** Every volume source field name (everything of a Volume but its name). */
export const VOLUME_SOURCES = [
  'hostPath',
  'emptyDir',
  'secret',
  'nfs',
  'persistentVolumeClaim',
  'downwardAPI',
  'configMap',
  'projected',
  'csi',
  'ephemeral',
  'image',
  ...OPAQUE_SOURCES,
] as const;

export const volumeDefinitions: Record<string, Schema> = {
  [core('KeyToPath')]: obj(
    {
      key: str('The key to project.'),
      path: str('Relative path of the file; may not contain \'..\' or start with it.'),
      mode: mode('this file'),
    },
    { required: ['key', 'path'], description: 'Maps one key to a file path in a volume.' },
  ),
  [core('ConfigMapVolumeSource')]: obj(
    {
      name: str('Name of the ConfigMap.'),
      items: keyItems('ConfigMap'),
      defaultMode: withDefault(mode('files without their own mode'), FILE_MODE),
      optional: bool('If true, a missing ConfigMap or key is not an error.'),
    },
    { description: 'A ConfigMap\'s keys as files.' },
  ),
  [core('SecretVolumeSource')]: obj(
    {
      secretName: str('Name of the Secret in the pod\'s namespace.'),
      items: keyItems('Secret'),
      defaultMode: withDefault(mode('files without their own mode'), FILE_MODE),
      optional: bool('If true, a missing Secret or key is not an error.'),
    },
    { description: 'A Secret\'s keys as files.' },
  ),
  [core('EmptyDirVolumeSource')]: obj(
    {
      medium: str('Storage medium: "" for the node\'s disk, Memory for a tmpfs.'),
      sizeLimit: quantity('Most space the volume may use.'),
    },
    { description: 'A directory that starts empty and lives as long as the pod.' },
  ),
  [core('HostPathVolumeSource')]: obj(
    {
      path: str('Path on the host; a symlink is followed.'),
      type: withDefault(
        enumOf(['', 'DirectoryOrCreate', 'Directory', 'FileOrCreate', 'File', 'Socket', 'CharDevice', 'BlockDevice'], 'What must exist at path ("" checks nothing).'),
        '',
      ),
    },
    { required: ['path'], description: 'A file or directory of the host mounted into the pod.' },
  ),
  [core('PersistentVolumeClaimVolumeSource')]: obj(
    {
      claimName: str('Name of a PersistentVolumeClaim in the pod\'s namespace.'),
      readOnly: bool('Mount read-only.'),
    },
    { required: ['claimName'], description: 'The volume bound to a PersistentVolumeClaim.' },
  ),
  [core('NFSVolumeSource')]: obj(
    {
      server: str('Host name or IP of the NFS server.'),
      path: str('Exported path.'),
      readOnly: bool('Mount read-only.'),
    },
    { required: ['server', 'path'], description: 'An NFS export.' },
  ),
  [core('DownwardAPIVolumeFile')]: obj(
    {
      path: str('Relative path of the file.'),
      fieldRef: coreRef('ObjectFieldSelector', 'A field of the pod: metadata.name, metadata.namespace, metadata.labels, metadata.annotations, metadata.uid.'),
      resourceFieldRef: coreRef('ResourceFieldSelector', 'A request or limit of a container.'),
      mode: mode('this file'),
    },
    { required: ['path'], description: 'One file of pod information.' },
  ),
  [core('DownwardAPIVolumeSource')]: obj(
    {
      items: atomicList(coreRef('DownwardAPIVolumeFile'), 'The files to write.'),
      defaultMode: withDefault(mode('files without their own mode'), FILE_MODE),
    },
    { description: 'Information about the pod as files.' },
  ),
  [core('DownwardAPIProjection')]: obj(
    { items: atomicList(coreRef('DownwardAPIVolumeFile'), 'The files to write.') },
    { description: 'Information about the pod as files of a projected volume.' },
  ),
  [core('ConfigMapProjection')]: obj(
    {
      name: str('Name of the ConfigMap.'),
      items: keyItems('ConfigMap'),
      optional: bool('If true, a missing ConfigMap or key is not an error.'),
    },
    { description: 'A ConfigMap\'s keys as files of a projected volume.' },
  ),
  [core('SecretProjection')]: obj(
    {
      name: str('Name of the Secret.'),
      items: keyItems('Secret'),
      optional: bool('If true, a missing Secret or key is not an error.'),
    },
    { description: 'A Secret\'s keys as files of a projected volume.' },
  ),
  [core('ServiceAccountTokenProjection')]: obj(
    {
      audience: str('Intended audience of the token; defaults to the API server.'),
      expirationSeconds: withDefault(int64('Requested lifetime of the token; it is rotated before it expires.'), 3600),
      path: str('Relative path of the token file.'),
    },
    { required: ['path'], description: 'A service account token as a file.' },
  ),
  [core('ClusterTrustBundleProjection')]: obj(
    {
      name: str('Select one ClusterTrustBundle by name.'),
      signerName: str('Select ClusterTrustBundles of this signer.'),
      labelSelector: labelSelector('Select ClusterTrustBundles of the signer by labels.'),
      optional: bool('If true, nothing found is not an error.'),
      path: str('Relative path of the PEM file.'),
    },
    { required: ['path'], description: 'Trust anchors from ClusterTrustBundles as a file.' },
  ),
  [core('VolumeProjection')]: obj(
    {
      secret: coreRef('SecretProjection', 'Keys of a Secret.'),
      downwardAPI: coreRef('DownwardAPIProjection', 'Pod information.'),
      configMap: coreRef('ConfigMapProjection', 'Keys of a ConfigMap.'),
      serviceAccountToken: coreRef('ServiceAccountTokenProjection', 'A service account token.'),
      clusterTrustBundle: coreRef('ClusterTrustBundleProjection', 'Trust anchors.'),
      podCertificate: freeform('A pod certificate and key (kept as sent).'),
    },
    { description: 'One source of a projected volume; exactly one field is set.' },
  ),
  [core('ProjectedVolumeSource')]: obj(
    {
      sources: atomicList(coreRef('VolumeProjection'), 'Sources merged into the volume.'),
      defaultMode: withDefault(mode('files without their own mode'), FILE_MODE),
    },
    { description: 'Several sources (secrets, config maps, pod information, tokens) in one directory.' },
  ),
  [core('CSIVolumeSource')]: obj(
    {
      driver: str('Name of the CSI driver.'),
      readOnly: bool('Mount read-only.'),
      fsType: str('Filesystem type, e.g. ext4; the driver chooses when empty.'),
      volumeAttributes: stringMap('Driver-specific properties.'),
      nodePublishSecretRef: coreRef('LocalObjectReference', 'Secret with credentials passed to the driver.'),
    },
    { required: ['driver'], description: 'An ephemeral volume provided by a CSI driver.' },
  ),
  [core('PersistentVolumeClaimTemplate')]: obj(
    {
      metadata: objectMeta(),
      spec: coreRef('PersistentVolumeClaimSpec', 'Spec of the claim created for the pod.'),
    },
    { required: ['spec'], description: 'A template for the claim of an ephemeral volume.' },
  ),
  [core('EphemeralVolumeSource')]: obj(
    { volumeClaimTemplate: coreRef('PersistentVolumeClaimTemplate', 'The claim created with the pod and deleted with it.') },
    { description: 'A volume from a claim that lives and dies with the pod.' },
  ),
  [core('ImageVolumeSource')]: obj(
    {
      reference: str('Image or artifact reference to mount.'),
      pullPolicy: enumOf(['Always', 'Never', 'IfNotPresent'], 'When to pull it.'),
    },
    { description: 'An OCI image or artifact mounted read-only.' },
  ),
  [core('Volume')]: obj(
    {
      name: str('Name of the volume, a DNS label unique within the pod; mounts refer to it.'),
      hostPath: coreRef('HostPathVolumeSource', 'A path of the host.'),
      emptyDir: coreRef('EmptyDirVolumeSource', 'A scratch directory that lives as long as the pod.'),
      secret: coreRef('SecretVolumeSource', 'A Secret\'s keys as files.'),
      nfs: coreRef('NFSVolumeSource', 'An NFS export.'),
      persistentVolumeClaim: coreRef('PersistentVolumeClaimVolumeSource', 'A PersistentVolumeClaim.'),
      downwardAPI: coreRef('DownwardAPIVolumeSource', 'Pod information as files.'),
      configMap: coreRef('ConfigMapVolumeSource', 'A ConfigMap\'s keys as files.'),
      projected: coreRef('ProjectedVolumeSource', 'Several sources in one directory.'),
      csi: coreRef('CSIVolumeSource', 'A CSI driver\'s ephemeral volume.'),
      ephemeral: coreRef('EphemeralVolumeSource', 'A claim created with the pod and deleted with it.'),
      image: coreRef('ImageVolumeSource', 'An OCI image or artifact.'),
      ...Object.fromEntries(OPAQUE_SOURCES.map((s) => [s, freeform(`${s} volume (kept as sent; not mounted by Lodge).`)])),
    },
    { required: ['name'], description: 'A named volume of a pod; exactly one source is set.' },
  ),
};
