// Lodge's schemas keep some rarely used core/v1 fields free-form (legacy
// volume sources, alpha status fields) rather than modelling them. In JSON
// those pass through as sent; in protobuf they are typed messages, so the
// decoder needs their shape. These are minimal schemas of those messages
// (JSON names and types only), used for nothing but decoding.
import { arr, bool, int32, int64, obj, ref, str, stringMap, type Schema } from '../../apis/schema.js';

// Only core/v1 has such fields.
const CORE = 'io.k8s.api.core.v1';

export const shadowDefinitions: Record<string, Schema> = {
  [`${CORE}.ContainerRestartRule`]: obj({ action: str(), exitCodes: ref(`${CORE}.ContainerRestartRuleOnExitCodes`) }),
  [`${CORE}.ContainerRestartRuleOnExitCodes`]: obj({ operator: str(), values: arr(int32()) }),
  [`${CORE}.PodCertificateProjection`]: obj({ signerName: str(), keyType: str(), maxExpirationSeconds: int32(), credentialBundlePath: str(), keyPath: str(), certificateChainPath: str(), userAnnotations: stringMap(), user: int64() }),
  [`${CORE}.GCEPersistentDiskVolumeSource`]: obj({ pdName: str(), fsType: str(), partition: int32(), readOnly: bool() }),
  [`${CORE}.AWSElasticBlockStoreVolumeSource`]: obj({ volumeID: str(), fsType: str(), partition: int32(), readOnly: bool() }),
  [`${CORE}.GitRepoVolumeSource`]: obj({ repository: str(), revision: str(), directory: str() }),
  [`${CORE}.ISCSIVolumeSource`]: obj({ targetPortal: str(), iqn: str(), lun: int32(), iscsiInterface: str(), fsType: str(), readOnly: bool(), portals: arr(str()), chapAuthDiscovery: bool(), chapAuthSession: bool(), secretRef: ref(`${CORE}.LocalObjectReference`), initiatorName: str() }),
  [`${CORE}.GlusterfsVolumeSource`]: obj({ endpoints: str(), path: str(), readOnly: bool() }),
  [`${CORE}.RBDVolumeSource`]: obj({ monitors: arr(str()), image: str(), fsType: str(), pool: str(), user: str(), keyring: str(), secretRef: ref(`${CORE}.LocalObjectReference`), readOnly: bool() }),
  [`${CORE}.FlexVolumeSource`]: obj({ driver: str(), fsType: str(), secretRef: ref(`${CORE}.LocalObjectReference`), readOnly: bool(), options: stringMap() }),
  [`${CORE}.CinderVolumeSource`]: obj({ volumeID: str(), fsType: str(), readOnly: bool(), secretRef: ref(`${CORE}.LocalObjectReference`) }),
  [`${CORE}.CephFSVolumeSource`]: obj({ monitors: arr(str()), path: str(), user: str(), secretFile: str(), secretRef: ref(`${CORE}.LocalObjectReference`), readOnly: bool() }),
  [`${CORE}.FlockerVolumeSource`]: obj({ datasetName: str(), datasetUUID: str() }),
  [`${CORE}.FCVolumeSource`]: obj({ targetWWNs: arr(str()), lun: int32(), fsType: str(), readOnly: bool(), wwids: arr(str()) }),
  [`${CORE}.AzureFileVolumeSource`]: obj({ secretName: str(), shareName: str(), readOnly: bool() }),
  [`${CORE}.VsphereVirtualDiskVolumeSource`]: obj({ volumePath: str(), fsType: str(), storagePolicyName: str(), storagePolicyID: str() }),
  [`${CORE}.QuobyteVolumeSource`]: obj({ registry: str(), volume: str(), readOnly: bool(), user: str(), group: str(), tenant: str() }),
  [`${CORE}.AzureDiskVolumeSource`]: obj({ diskName: str(), diskURI: str(), cachingMode: str(), fsType: str(), readOnly: bool(), kind: str() }),
  [`${CORE}.PhotonPersistentDiskVolumeSource`]: obj({ pdID: str(), fsType: str() }),
  [`${CORE}.PortworxVolumeSource`]: obj({ volumeID: str(), fsType: str(), readOnly: bool() }),
  [`${CORE}.ScaleIOVolumeSource`]: obj({ gateway: str(), system: str(), secretRef: ref(`${CORE}.LocalObjectReference`), sslEnabled: bool(), protectionDomain: str(), storagePool: str(), storageMode: str(), volumeName: str(), fsType: str(), readOnly: bool() }),
  [`${CORE}.StorageOSVolumeSource`]: obj({ volumeName: str(), volumeNamespace: str(), fsType: str(), readOnly: bool(), secretRef: ref(`${CORE}.LocalObjectReference`) }),
  [`${CORE}.ContainerUser`]: obj({ linux: ref(`${CORE}.LinuxContainerUser`) }),
  [`${CORE}.LinuxContainerUser`]: obj({ uid: int64(), gid: int64(), supplementalGroups: arr(int64()) }),
  [`${CORE}.ResourceStatus`]: obj({ name: str(), resources: arr(ref(`${CORE}.ResourceHealth`)) }),
  [`${CORE}.ResourceHealth`]: obj({ resourceID: str(), health: str(), message: str() }),
  [`${CORE}.PodResourceClaimStatus`]: obj({ name: str(), resourceClaimName: str() }),
  [`${CORE}.PodExtendedResourceClaimStatus`]: obj({ requestMappings: arr(ref(`${CORE}.ContainerExtendedResourceRequest`)), resourceClaimName: str() }),
  [`${CORE}.ContainerExtendedResourceRequest`]: obj({ containerName: str(), resourceName: str(), requestName: str() }),
  [`${CORE}.NodeConfigSource`]: obj({ configMap: ref(`${CORE}.ConfigMapNodeConfigSource`) }),
  [`${CORE}.ConfigMapNodeConfigSource`]: obj({ namespace: str(), name: str(), uid: str(), resourceVersion: str(), kubeletConfigKey: str() }),
  [`${CORE}.NodeConfigStatus`]: obj({ assigned: ref(`${CORE}.NodeConfigSource`), active: ref(`${CORE}.NodeConfigSource`), lastKnownGood: ref(`${CORE}.NodeConfigSource`), error: str() }),
};

/** A free-form field of a Lodge definition ("Definition.field", in core/v1) → the message it holds. */
export const freeformMessages: Record<string, string> = {
  'Container.restartPolicyRules': `${CORE}.ContainerRestartRule`,
  'EphemeralContainer.restartPolicyRules': `${CORE}.ContainerRestartRule`,
  'VolumeProjection.podCertificate': `${CORE}.PodCertificateProjection`,
  'Volume.gcePersistentDisk': `${CORE}.GCEPersistentDiskVolumeSource`,
  'Volume.awsElasticBlockStore': `${CORE}.AWSElasticBlockStoreVolumeSource`,
  'Volume.gitRepo': `${CORE}.GitRepoVolumeSource`,
  'Volume.iscsi': `${CORE}.ISCSIVolumeSource`,
  'Volume.glusterfs': `${CORE}.GlusterfsVolumeSource`,
  'Volume.rbd': `${CORE}.RBDVolumeSource`,
  'Volume.flexVolume': `${CORE}.FlexVolumeSource`,
  'Volume.cinder': `${CORE}.CinderVolumeSource`,
  'Volume.cephfs': `${CORE}.CephFSVolumeSource`,
  'Volume.flocker': `${CORE}.FlockerVolumeSource`,
  'Volume.fc': `${CORE}.FCVolumeSource`,
  'Volume.azureFile': `${CORE}.AzureFileVolumeSource`,
  'Volume.vsphereVolume': `${CORE}.VsphereVirtualDiskVolumeSource`,
  'Volume.quobyte': `${CORE}.QuobyteVolumeSource`,
  'Volume.azureDisk': `${CORE}.AzureDiskVolumeSource`,
  'Volume.photonPersistentDisk': `${CORE}.PhotonPersistentDiskVolumeSource`,
  'Volume.portworxVolume': `${CORE}.PortworxVolumeSource`,
  'Volume.scaleIO': `${CORE}.ScaleIOVolumeSource`,
  'Volume.storageos': `${CORE}.StorageOSVolumeSource`,
  'ContainerStatus.user': `${CORE}.ContainerUser`,
  'ContainerStatus.allocatedResourcesStatus': `${CORE}.ResourceStatus`,
  'PodStatus.resourceClaimStatuses': `${CORE}.PodResourceClaimStatus`,
  'PodStatus.extendedResourceClaimStatus': `${CORE}.PodExtendedResourceClaimStatus`,
  'NodeSpec.configSource': `${CORE}.NodeConfigSource`,
  'NodeStatus.config': `${CORE}.NodeConfigStatus`,
};
