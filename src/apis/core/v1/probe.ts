// Health probes and lifecycle hooks of containers.
import { int32, int64, intOrString, obj, str, enumOf, type Schema } from '../../schema.js';
import { atomicList, core, coreRef, withDefault } from './names.js';

const port = (what: string): Schema => intOrString(`Port to ${what}: a number (1-65535) or the name of a container port.`);

export const probeDefinitions: Record<string, Schema> = {
  [core('ExecAction')]: obj(
    { command: atomicList(str(), 'Command run inside the container (not through a shell); exit status 0 means success.') },
    { description: 'Run a command inside the container.' },
  ),
  [core('HTTPHeader')]: obj(
    { name: str('Header name.'), value: str('Header value.') },
    { required: ['name', 'value'], description: 'A header sent with an HTTP probe.' },
  ),
  [core('HTTPGetAction')]: obj(
    {
      path: withDefault(str('Path to request.'), '/'),
      port: port('connect to'),
      host: str('Host to connect to; defaults to the pod IP. Set the Host header via httpHeaders instead.'),
      scheme: withDefault(enumOf(['HTTP', 'HTTPS'], 'Scheme to use.'), 'HTTP'),
      httpHeaders: atomicList(coreRef('HTTPHeader'), 'Extra headers to send.'),
    },
    { required: ['port'], description: 'An HTTP GET request; a 2xx or 3xx answer means success.' },
  ),
  [core('TCPSocketAction')]: obj(
    { port: port('connect to'), host: str('Host to connect to; defaults to the pod IP.') },
    { required: ['port'], description: 'Open a TCP connection; success if it connects.' },
  ),
  [core('GRPCAction')]: obj(
    {
      port: int32('Port of the gRPC health service (1-65535).'),
      service: str('Service name sent in the gRPC HealthCheckRequest.', { default: '' }),
    },
    { required: ['port'], description: 'A gRPC health check (grpc.health.v1).' },
  ),
  [core('SleepAction')]: obj({ seconds: int64('Seconds to sleep.') }, { required: ['seconds'], description: 'Wait for a while.' }),
  [core('Probe')]: obj(
    {
      exec: coreRef('ExecAction', 'Run a command.'),
      httpGet: coreRef('HTTPGetAction', 'Send an HTTP GET request.'),
      tcpSocket: coreRef('TCPSocketAction', 'Open a TCP connection.'),
      grpc: coreRef('GRPCAction', 'Call the gRPC health service.'),
      initialDelaySeconds: int32('Seconds after the container started before the first probe.'),
      timeoutSeconds: withDefault(int32('Seconds before a probe times out.', { minimum: 1 }), 1),
      periodSeconds: withDefault(int32('Seconds between probes.', { minimum: 1 }), 10),
      successThreshold: withDefault(int32('Consecutive successes to count as healthy after a failure; must be 1 for liveness and startup.', { minimum: 1 }), 1),
      failureThreshold: withDefault(int32('Consecutive failures to count as failed.', { minimum: 1 }), 3),
      terminationGracePeriodSeconds: int64('Grace period for the kill after a failed liveness or startup probe; overrides the pod\'s.'),
    },
    { description: 'A periodic check of a container; exactly one handler (exec, httpGet, tcpSocket, grpc) is set.' },
  ),
  [core('LifecycleHandler')]: obj(
    {
      exec: coreRef('ExecAction', 'Run a command.'),
      httpGet: coreRef('HTTPGetAction', 'Send an HTTP GET request.'),
      tcpSocket: coreRef('TCPSocketAction', 'Deprecated; accepted for compatibility, not run.'),
      sleep: coreRef('SleepAction', 'Sleep.'),
    },
    { description: 'An action run at a point of a container\'s lifecycle; exactly one field is set.' },
  ),
  [core('Lifecycle')]: obj(
    {
      postStart: coreRef('LifecycleHandler', 'Run right after the container is created; a failure restarts it.'),
      preStop: coreRef('LifecycleHandler', 'Run before the container is stopped; the grace period keeps counting meanwhile.'),
      stopSignal: str('Signal used to stop the container, e.g. SIGTERM or SIGQUIT; defaults to the image\'s.'),
    },
    { description: 'Actions run when a container starts and before it stops.' },
  ),
};

