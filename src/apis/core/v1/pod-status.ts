// PodStatus: what the node agent and scheduler report about a pod.
import { arr, bool, freeform, int32, int64, obj, str, time, enumOf, type Schema } from '../../schema.js';
import { atomicList, core, coreRef } from './names.js';
import { resourceList } from './resources.js';

export const POD_PHASES = ['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'] as const;
/** The condition a Pod gets before a deletion it did not ask for (eviction, preemption, taint eviction). */
export const DISRUPTION_TARGET = 'DisruptionTarget';
/** A Pod that has finished (Succeeded or Failed): it runs no more and holds nothing. */
export const isPodTerminal = (pod: { status?: { phase?: unknown } }): boolean => pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
export const QOS_CLASSES = ['Guaranteed', 'Burstable', 'BestEffort'] as const;

const containerStatuses = (which: string): Schema => atomicList(coreRef('ContainerStatus'), `Status of each ${which} container.`);

export const podStatusDefinitions: Record<string, Schema> = {
  [core('PodCondition')]: obj(
    {
      type: str('PodScheduled, PodReadyToStartContainers, Initialized, ContainersReady, Ready, or a readiness gate\'s type.'),
      status: enumOf(['True', 'False', 'Unknown'], 'Whether the condition holds.'),
      observedGeneration: int64('The pod generation the condition was computed for.'),
      lastProbeTime: time('When the condition was last checked.'),
      lastTransitionTime: time('When the status last changed.'),
      reason: str('CamelCase reason for the last transition.'),
      message: str('Human-readable details.'),
    },
    { required: ['type', 'status'], description: 'One aspect of a pod\'s state.' },
  ),
  [core('PodIP')]: obj({ ip: str('An IP address of the pod.') }, { required: ['ip'], description: 'An IP address of a pod.' }),
  [core('HostIP')]: obj({ ip: str('An IP address of the node.') }, { required: ['ip'], description: 'An IP address of the pod\'s node.' }),
  [core('ContainerStateWaiting')]: obj(
    { reason: str('Why it is not running yet, e.g. ContainerCreating, ImagePullBackOff, CrashLoopBackOff.'), message: str('Details.') },
    { description: 'A container that has not started (or is waiting to restart).' },
  ),
  [core('ContainerStateRunning')]: obj({ startedAt: time('When the container last started.') }, { description: 'A running container.' }),
  [core('ContainerStateTerminated')]: obj(
    {
      exitCode: int32('Exit status of the last run.'),
      signal: int32('Signal that ended it, if any.'),
      reason: str('Why it ended, e.g. Completed, Error, OOMKilled.'),
      message: str('Details.'),
      startedAt: time('When that run started.'),
      finishedAt: time('When it ended.'),
      containerID: str('Runtime ID of that run, as <type>://<id>.'),
    },
    { required: ['exitCode'], description: 'A container that has exited.' },
  ),
  [core('ContainerState')]: obj(
    {
      waiting: coreRef('ContainerStateWaiting', 'Set while waiting.'),
      running: coreRef('ContainerStateRunning', 'Set while running.'),
      terminated: coreRef('ContainerStateTerminated', 'Set after it exited.'),
    },
    { description: 'The state of a container; at most one field is set, waiting when none is.' },
  ),
  [core('VolumeMountStatus')]: obj(
    {
      name: str('Name of the mount\'s volume.'),
      mountPath: str('Where it is mounted.'),
      readOnly: bool('Mounted read-only.'),
      recursiveReadOnly: str('Effective recursive read-only mode: Disabled or Enabled.'),
    },
    { required: ['name', 'mountPath'], description: 'How a volume mount ended up.' },
  ),
  [core('ContainerStatus')]: obj(
    {
      name: str('Name of the container (as in the pod spec).'),
      state: coreRef('ContainerState', 'Current state.'),
      lastState: coreRef('ContainerState', 'State of the previous run, e.g. why it restarted.'),
      ready: bool('Whether its readiness probe passes (true without one, once running).'),
      restartCount: int32('How often it has been restarted.'),
      image: str('The image it runs.'),
      imageID: str('Resolved image ID (digest) it runs.'),
      containerID: str('Runtime ID of the container, as <type>://<id>.'),
      started: bool('Whether it has started and passed its startup probe.'),
      allocatedResources: resourceList('Resources allocated to it on the node.'),
      resources: coreRef('ResourceRequirements', 'Resources actually applied.'),
      volumeMounts: arr(coreRef('VolumeMountStatus'), { mergeKey: 'mountPath', description: 'Status of its volume mounts.' }),
      user: freeform('Identity the first process runs as (kept as sent).'),
      allocatedResourcesStatus: atomicList(freeform('Health of an allocated resource (kept as sent).'), 'Health of allocated devices.'),
      stopSignal: str('Signal used to stop it.'),
    },
    { required: ['name', 'ready', 'restartCount', 'image', 'imageID'], description: 'Observed state of one container.' },
  ),
  [core('PodStatus')]: obj(
    {
      observedGeneration: int64('The pod generation this status describes.'),
      phase: enumOf([...POD_PHASES], 'Coarse place in the pod\'s lifecycle.'),
      conditions: arr(coreRef('PodCondition'), { mergeKey: 'type', description: 'Current conditions of the pod.' }),
      message: str('Human-readable details of the pod\'s state.'),
      reason: str('Short CamelCase reason for the state, e.g. Evicted.'),
      nominatedNodeName: str('Node the pod may run on after preemption frees room there.'),
      hostIP: str('Primary IP of the node running the pod.'),
      hostIPs: arr(coreRef('HostIP'), { mergeKey: 'ip', description: 'IPs of the node, IPv4 and IPv6.' }),
      podIP: str('Primary IP of the pod.'),
      podIPs: arr(coreRef('PodIP'), { mergeKey: 'ip', description: 'IPs of the pod; the first equals podIP.' }),
      startTime: time('When the node accepted the pod.'),
      initContainerStatuses: containerStatuses('init'),
      containerStatuses: containerStatuses('app'),
      qosClass: enumOf([...QOS_CLASSES], 'Quality of service class from the containers\' requests and limits.'),
      ephemeralContainerStatuses: containerStatuses('ephemeral'),
      resize: str('Progress of an in-place resize.'),
      resourceClaimStatuses: arr(freeform('Status of one resource claim (kept as sent).'), { mergeKey: 'name', description: 'Status of the pod\'s resource claims.' }),
      extendedResourceClaimStatus: freeform('Extended resources backed by a claim (kept as sent).'),
    },
    { description: 'Observed state of a pod.' },
  ),
};
