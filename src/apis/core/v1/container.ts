// Containers of a pod: what runs, with which ports, environment, mounts,
// probes and resources. Defaults for imagePullPolicy need logic and live in
// pod-defaults.ts.
import { arr, bool, freeform, int32, obj, str, enumOf, type Schema } from '../../schema.js';
import { envFromList, envList } from './env.js';
import { atomicList, core, coreRef, withDefault } from './names.js';
import { resizePolicyList } from './resources.js';

export const PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;
export const protocol = (what: string): Schema => withDefault(enumOf([...PROTOCOLS], `Protocol of ${what}.`), 'TCP');

/** Fields shared by regular, init and ephemeral containers. */
function containerProperties(): Record<string, Schema> {
  return {
    name: str('Name of the container, a DNS label unique within the pod.'),
    image: str('Container image reference, e.g. nginx:1.27 or registry.example.com/app@sha256:...'),
    command: atomicList(str(), 'Replaces the image\'s ENTRYPOINT; $(VAR) expands environment variables. Not run in a shell.'),
    args: atomicList(str(), 'Replaces the image\'s CMD; $(VAR) expands environment variables.'),
    workingDir: str('Working directory of the process; defaults to the image\'s.'),
    ports: arr(coreRef('ContainerPort'), {
      mergeKey: 'containerPort',
      mapKeys: ['containerPort', 'protocol'],
      description: 'Ports the container exposes; informational except for hostPort and named ports.',
    }),
    envFrom: envFromList(),
    env: envList(),
    resources: coreRef('ResourceRequirements', 'CPU, memory and other resources the container requests and may use.'),
    resizePolicy: resizePolicyList(),
    restartPolicy: str('Only for init containers: Always makes it a sidecar that keeps running next to the app containers.'),
    restartPolicyRules: atomicList(freeform('A rule matching exit codes to a restart action.'), 'Exit-code rules refining restartPolicy (kept as sent).'),
    volumeMounts: arr(coreRef('VolumeMount'), { mergeKey: 'mountPath', description: 'Volumes of the pod mounted into this container.' }),
    volumeDevices: arr(coreRef('VolumeDevice'), { mergeKey: 'devicePath', description: 'Block volumes of the pod exposed as devices.' }),
    livenessProbe: coreRef('Probe', 'Restart the container when this fails.'),
    readinessProbe: coreRef('Probe', 'Remove the pod from service endpoints while this fails.'),
    startupProbe: coreRef('Probe', 'Hold off the other probes until this succeeds; restart the container if it never does.'),
    lifecycle: coreRef('Lifecycle', 'Hooks run after start and before stop.'),
    terminationMessagePath: withDefault(str('File whose contents become the termination message when the container exits.'), '/dev/termination-log'),
    terminationMessagePolicy: withDefault(
      enumOf(['File', 'FallbackToLogsOnError'], 'Where the termination message comes from: the file only, or the log tail when the file is empty and the container failed.'),
      'File',
    ),
    imagePullPolicy: enumOf(['Always', 'Never', 'IfNotPresent'], 'When to pull the image; defaults to Always for :latest or untagged images, else IfNotPresent.'),
    securityContext: coreRef('SecurityContext', 'Security settings for this container.'),
    stdin: bool('Keep a stdin buffer open for the container.'),
    stdinOnce: bool('Close stdin after the first attach session ends.'),
    tty: bool('Allocate a TTY; needs stdin.'),
  };
}

export const containerDefinitions: Record<string, Schema> = {
  [core('ContainerPort')]: obj(
    {
      name: str('A name for the port (IANA service name: up to 15 characters, lower case), usable by services and probes.'),
      hostPort: int32('Port opened on the host and forwarded here; rarely needed.'),
      containerPort: int32('Port number the container listens on (1-65535).'),
      protocol: protocol('the port'),
      hostIP: str('Host IP the hostPort binds to.'),
    },
    { required: ['containerPort'], description: 'A network port of a container.' },
  ),
  [core('VolumeMount')]: obj(
    {
      name: str('Name of a volume of the pod.'),
      readOnly: bool('Mount read-only.'),
      recursiveReadOnly: enumOf(['Disabled', 'IfPossible', 'Enabled'], 'Whether read-only also applies to submounts.'),
      mountPath: str('Path in the container to mount at; must not contain \':\'.'),
      subPath: str('Mount only this path inside the volume.'),
      mountPropagation: enumOf(['None', 'HostToContainer', 'Bidirectional'], 'How mounts propagate between host and container.'),
      subPathExpr: str('Like subPath, with $(VAR) expanded from the container\'s environment.'),
    },
    { required: ['name', 'mountPath'], description: 'A volume mounted into a container.' },
  ),
  [core('VolumeDevice')]: obj(
    { name: str('Name of a persistentVolumeClaim volume of the pod.'), devicePath: str('Path of the device inside the container.') },
    { required: ['name', 'devicePath'], description: 'A raw block volume exposed to a container.' },
  ),
  [core('Container')]: obj(containerProperties(), {
    required: ['name'],
    description: 'A container of a pod.',
  }),
  [core('EphemeralContainer')]: obj(
    {
      ...containerProperties(),
      targetContainerName: str('Container whose namespaces (process, IPC) this debugging container joins.'),
    },
    { required: ['name'], description: 'A temporary container added to a running pod for debugging; never restarted.' },
  ),
};
