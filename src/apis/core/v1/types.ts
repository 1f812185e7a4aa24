// TypeScript shapes of the core/v1 fields Lodge's code reads. Every field is
// optional because objects arrive from users before validation; the schemas
// in the sibling files are the authority on what is allowed.
import type { KubeObject } from '../../types.js';

export type IntOrString = number | string;
export type Quantity = number | string;
export type ResourceList = Record<string, Quantity>;

export type LabelSelectorRequirement = { key?: string; operator?: string; values?: string[] };
export type LabelSelector = { matchLabels?: Record<string, string>; matchExpressions?: LabelSelectorRequirement[] };

export type ObjectReference = {
  kind?: string;
  namespace?: string;
  name?: string;
  uid?: string;
  apiVersion?: string;
  resourceVersion?: string;
  fieldPath?: string;
};

export type ContainerPort = { name?: string; containerPort?: number; hostPort?: number; protocol?: string; hostIP?: string };
export type EnvVarSource = { fieldRef?: object; resourceFieldRef?: object; configMapKeyRef?: object; secretKeyRef?: object; fileKeyRef?: object };
export type EnvVar = { name?: string; value?: string; valueFrom?: EnvVarSource };
export type EnvFromSource = { prefix?: string; configMapRef?: { name?: string }; secretRef?: { name?: string } };
export type VolumeMount = { name?: string; mountPath?: string; readOnly?: boolean; subPath?: string; subPathExpr?: string };
export type VolumeDevice = { name?: string; devicePath?: string };
export type ResourceRequirements = { limits?: ResourceList; requests?: ResourceList };

export type Probe = {
  exec?: { command?: string[] };
  httpGet?: { path?: string; port?: IntOrString; host?: string; scheme?: string };
  tcpSocket?: { port?: IntOrString; host?: string };
  grpc?: { port?: number; service?: string };
  initialDelaySeconds?: number;
  timeoutSeconds?: number;
  periodSeconds?: number;
  successThreshold?: number;
  failureThreshold?: number;
  terminationGracePeriodSeconds?: number;
};

export type Container = {
  name?: string;
  image?: string;
  command?: string[];
  args?: string[];
  workingDir?: string;
  ports?: ContainerPort[];
  env?: EnvVar[];
  envFrom?: EnvFromSource[];
  resources?: ResourceRequirements;
  restartPolicy?: string;
  volumeMounts?: VolumeMount[];
  volumeDevices?: VolumeDevice[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  lifecycle?: { postStart?: Probe; preStop?: Probe };
  imagePullPolicy?: string;
  securityContext?: Record<string, unknown>;
  terminationMessagePath?: string;
  terminationMessagePolicy?: string;
  stdin?: boolean;
  tty?: boolean;
};

export type Volume = {
  name?: string;
  [source: string]: unknown;
};

export type Toleration = { key?: string; operator?: string; value?: string; effect?: string; tolerationSeconds?: number };

export type PodSpec = {
  containers?: Container[];
  initContainers?: Container[];
  ephemeralContainers?: Array<Container & { targetContainerName?: string }>;
  volumes?: Volume[];
  restartPolicy?: string;
  terminationGracePeriodSeconds?: number;
  activeDeadlineSeconds?: number;
  dnsPolicy?: string;
  nodeSelector?: Record<string, string>;
  serviceAccountName?: string;
  serviceAccount?: string;
  nodeName?: string;
  hostNetwork?: boolean;
  hostname?: string;
  subdomain?: string;
  schedulerName?: string;
  tolerations?: Toleration[];
  imagePullSecrets?: Array<{ name?: string }>;
  readinessGates?: Array<{ conditionType?: string }>;
  schedulingGates?: Array<{ name?: string }>;
  priorityClassName?: string;
  priority?: number;
  runtimeClassName?: string;
  affinity?: Record<string, unknown>;
  securityContext?: Record<string, unknown>;
  topologySpreadConstraints?: Array<Record<string, unknown>>;
  [field: string]: unknown;
};

export type PodTemplateSpec = {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string>; [k: string]: unknown };
  spec?: PodSpec;
};

export type ContainerState = {
  waiting?: { reason?: string; message?: string };
  running?: { startedAt?: string };
  terminated?: { exitCode?: number; signal?: number; reason?: string; message?: string; startedAt?: string; finishedAt?: string };
};

export type ContainerStatus = {
  name?: string;
  state?: ContainerState;
  lastState?: ContainerState;
  ready?: boolean;
  started?: boolean;
  restartCount?: number;
  image?: string;
  imageID?: string;
  containerID?: string;
};

export type Condition = { type?: string; status?: string; reason?: string; message?: string; lastTransitionTime?: string; lastProbeTime?: string | null };

export type PodStatus = {
  phase?: string;
  reason?: string;
  message?: string;
  conditions?: Condition[];
  hostIP?: string;
  podIP?: string;
  podIPs?: Array<{ ip?: string }>;
  nominatedNodeName?: string;
  startTime?: string;
  qosClass?: string;
  initContainerStatuses?: ContainerStatus[];
  containerStatuses?: ContainerStatus[];
};

export type Pod = KubeObject & {
  spec?: PodSpec;
  status?: PodStatus;
};

export type ServicePort = { name?: string; protocol?: string; appProtocol?: string; port?: number; targetPort?: IntOrString; nodePort?: number };

export type ServiceSpec = {
  ports?: ServicePort[];
  selector?: Record<string, string>;
  clusterIP?: string;
  clusterIPs?: string[];
  type?: string;
  externalIPs?: string[];
  externalName?: string;
  sessionAffinity?: string;
  sessionAffinityConfig?: { clientIP?: { timeoutSeconds?: number } };
  externalTrafficPolicy?: string;
  internalTrafficPolicy?: string;
  loadBalancerIP?: string;
  allocateLoadBalancerNodePorts?: boolean;
  ipFamilies?: string[];
  ipFamilyPolicy?: string;
  healthCheckNodePort?: number;
  [field: string]: unknown;
};

export type ServiceStatus = { loadBalancer?: { ingress?: Array<{ ip?: string; hostname?: string }> }; conditions?: Condition[] };

export type Service = KubeObject & {
  spec?: ServiceSpec;
  status?: ServiceStatus;
};

export type EndpointAddress = { ip?: string; hostname?: string; nodeName?: string; targetRef?: ObjectReference };
export type EndpointPort = { name?: string; port?: number; protocol?: string; appProtocol?: string };
export type EndpointSubset = { addresses?: EndpointAddress[]; notReadyAddresses?: EndpointAddress[]; ports?: EndpointPort[] };

export type Taint = { key?: string; value?: string; effect?: string; timeAdded?: string };
export type NodeSpec = { podCIDR?: string; podCIDRs?: string[]; providerID?: string; unschedulable?: boolean; taints?: Taint[] };
export type NodeSystemInfo = {
  machineID?: string;
  systemUUID?: string;
  bootID?: string;
  kernelVersion?: string;
  osImage?: string;
  containerRuntimeVersion?: string;
  kubeletVersion?: string;
  operatingSystem?: string;
  architecture?: string;
};
export type NodeStatus = {
  capacity?: ResourceList;
  allocatable?: ResourceList;
  conditions?: Array<Condition & { lastHeartbeatTime?: string }>;
  addresses?: Array<{ type?: string; address?: string }>;
  nodeInfo?: NodeSystemInfo;
};

export type PersistentVolumeClaimSpec = {
  accessModes?: string[];
  selector?: LabelSelector;
  resources?: { limits?: ResourceList; requests?: ResourceList };
  volumeName?: string;
  storageClassName?: string;
  volumeMode?: string;
  dataSource?: object;
  dataSourceRef?: object;
  volumeAttributesClassName?: string;
};
export type PersistentVolumeClaimStatus = { phase?: string; accessModes?: string[]; capacity?: ResourceList; conditions?: Condition[] };

export type CoreEvent = KubeObject & {
  involvedObject?: ObjectReference;
  reason?: string;
  message?: string;
  source?: { component?: string; host?: string };
  firstTimestamp?: string;
  lastTimestamp?: string;
  count?: number;
  type?: string;
  eventTime?: string;
  series?: { count?: number; lastObservedTime?: string };
  action?: string;
  related?: ObjectReference;
  reportingComponent?: string;
  reportingInstance?: string;
};
