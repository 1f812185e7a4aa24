// PodSpec and PodTemplateSpec: the desired state of a pod, shared by Pods and
// the templates of Deployments and ReplicaSets.
import { arr, bool, int32, int64, obj, str, stringMap, enumOf, type Schema } from '../../schema.js';
import { objectMeta } from '../../meta/v1.js';
import { atomicList, core, coreRef, withDefault } from './names.js';
import { resourceList } from './resources.js';
import { tolerationList, topologySpreadList } from './scheduling.js';

export const RESTART_POLICIES = ['Always', 'OnFailure', 'Never'] as const;
export const DNS_POLICIES = ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'] as const;

const containers = (what: string): Schema => arr(coreRef('Container'), { mergeKey: 'name', description: what });

export const podSpecDefinitions: Record<string, Schema> = {
  [core('HostAlias')]: obj(
    { ip: str('IP address of the entry.'), hostnames: atomicList(str(), 'Host names for that IP.') },
    { required: ['ip'], description: 'An extra line of the pod\'s /etc/hosts.' },
  ),
  [core('PodDNSConfigOption')]: obj({ name: str('Option name, e.g. ndots.'), value: str('Option value.') }, { description: 'A resolver option.' }),
  [core('PodDNSConfig')]: obj(
    {
      nameservers: atomicList(str(), 'Name server IPs added to those from dnsPolicy.'),
      searches: atomicList(str(), 'Search domains added to those from dnsPolicy.'),
      options: atomicList(coreRef('PodDNSConfigOption'), 'Resolver options merged with those from dnsPolicy.'),
    },
    { description: 'DNS settings beyond those dnsPolicy generates.' },
  ),
  [core('PodReadinessGate')]: obj(
    { conditionType: str('A pod condition type that must be True for the pod to be ready.') },
    { required: ['conditionType'], description: 'An extra condition for pod readiness.' },
  ),
  [core('PodOS')]: obj({ name: str('Operating system: linux or windows.') }, { required: ['name'], description: 'The OS the pod needs.' }),
  [core('PodSchedulingGate')]: obj(
    { name: str('Name of the gate.') },
    { required: ['name'], description: 'The pod is not scheduled while any gate remains.' },
  ),
  [core('PodResourceClaim')]: obj(
    {
      name: str('Name of this claim within the pod; containers refer to it.'),
      resourceClaimName: str('An existing ResourceClaim.'),
      resourceClaimTemplateName: str('A ResourceClaimTemplate to create the claim from.'),
    },
    { required: ['name'], description: 'A dynamically allocated resource used by the pod.' },
  ),
  [core('PodSpec')]: obj(
    {
      volumes: arr(coreRef('Volume'), { mergeKey: 'name', patchStrategy: 'merge,retainKeys', description: 'Volumes containers of the pod can mount.' }),
      initContainers: containers('Containers run one after another, each to completion, before the app containers start.'),
      containers: containers('The pod\'s containers; at least one.'),
      ephemeralContainers: arr(coreRef('EphemeralContainer'), { mergeKey: 'name', description: 'Debugging containers added to the running pod.' }),
      restartPolicy: withDefault(enumOf([...RESTART_POLICIES], 'When containers are restarted after they exit.'), 'Always'),
      terminationGracePeriodSeconds: withDefault(int64('Seconds between the stop signal and the kill when the pod is deleted.'), 30),
      activeDeadlineSeconds: int64('Seconds after start before the pod is marked failed and its containers killed.'),
      dnsPolicy: withDefault(enumOf([...DNS_POLICIES], 'How the pod\'s DNS resolver is set up.'), 'ClusterFirst'),
      nodeSelector: { ...stringMap('Node labels the pod\'s node must have.'), 'x-kubernetes-map-type': 'atomic' },
      serviceAccountName: str('Service account the pod runs as.'),
      serviceAccount: str('Deprecated alias of serviceAccountName.'),
      automountServiceAccountToken: bool('Whether a service account token is mounted.'),
      nodeName: str('The node the pod runs on; set by the scheduler, or by the user to skip scheduling.'),
      hostNetwork: bool('Use the host\'s network namespace.'),
      hostPID: bool('Use the host\'s process namespace.'),
      hostIPC: bool('Use the host\'s IPC namespace.'),
      shareProcessNamespace: bool('One process namespace for all containers of the pod.'),
      securityContext: withDefault(coreRef('PodSecurityContext', 'Security settings for every container.'), {}),
      imagePullSecrets: arr(coreRef('LocalObjectReference'), { mergeKey: 'name', description: 'Secrets with registry credentials for pulling images.' }),
      hostname: str('Host name of the pod; defaults to the pod name.'),
      subdomain: str('With hostname, gives the pod the FQDN hostname.subdomain.namespace.svc.<cluster domain>.'),
      affinity: coreRef('Affinity', 'Node and pod affinity rules.'),
      schedulerName: withDefault(str('Scheduler that places the pod.'), 'default-scheduler'),
      tolerations: tolerationList(),
      hostAliases: arr(coreRef('HostAlias'), { mergeKey: 'ip', description: 'Extra /etc/hosts entries.' }),
      priorityClassName: str('PriorityClass of the pod.'),
      priority: int32('Priority value, resolved from priorityClassName.'),
      dnsConfig: coreRef('PodDNSConfig', 'DNS settings beyond dnsPolicy.'),
      readinessGates: atomicList(coreRef('PodReadinessGate'), 'Extra conditions that must be True for readiness.'),
      runtimeClassName: str('RuntimeClass to run the pod with.'),
      enableServiceLinks: withDefault(bool('Inject Docker-link style environment variables for services.'), true),
      preemptionPolicy: enumOf(['PreemptLowerPriority', 'Never'], 'Whether the pod may preempt lower-priority pods.'),
      overhead: resourceList('Resources the pod\'s sandbox uses on top of its containers.'),
      topologySpreadConstraints: topologySpreadList(),
      setHostnameAsFQDN: bool('Make the pod\'s host name its FQDN.'),
      os: coreRef('PodOS', 'The OS the pod needs.'),
      hostUsers: bool('Use the host\'s user namespace (true) or a new one (false).'),
      schedulingGates: arr(coreRef('PodSchedulingGate'), { mergeKey: 'name', description: 'Hold the pod back from scheduling until removed.' }),
      resourceClaims: arr(coreRef('PodResourceClaim'), {
        mergeKey: 'name',
        patchStrategy: 'merge,retainKeys',
        description: 'Dynamically allocated resources the pod uses.',
      }),
      resources: coreRef('ResourceRequirements', 'Resources of the whole pod, shared by its containers.'),
      hostnameOverride: str('Replaces the pod\'s host name entirely.'),
    },
    { required: ['containers'], description: 'The desired state of a pod.' },
  ),
  [core('PodTemplateSpec')]: obj(
    {
      metadata: objectMeta(),
      spec: coreRef('PodSpec', 'The pods\' desired state.'),
    },
    { description: 'The pods a controller creates.' },
  ),
};

