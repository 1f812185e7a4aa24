// The probes of a node's running containers, as the kubelet's prober
// manager: one worker per probe of each run of a container. Until the
// startup probe succeeds, liveness and readiness are not run and the
// container is not "started"; readiness decides the container's `ready`
// (false until its first success, true without a readiness probe); a
// liveness or startup probe failed failureThreshold times stops the container
// gracefully, and the pod worker then restarts it per restartPolicy as it
// does any exited container.
//
// The pod worker tells the prober what runs at each sync (observe) and what
// no longer does (forget); the prober tells the pod worker to look again
// (requeue) when a result changes. Probes run on their own timers, outside
// the pod worker's queue, so slow probes of many Pods never hold up a sync.
// Nothing is persisted: an agent restart probes from scratch (readiness false
// until the first success), as a kubelet restart does.
import type { Container } from '../../apis/core/v1/types.js';
import type { KubeObject } from '../../apis/types.js';
import type { Logger } from '../../util/log.js';
import { parseContainerId } from '../container-spec.js';
import { netnsPath } from '../pod-sandbox.js';
import type { ExecProcess } from '../runtime/driver.js';
import type { ProbeResult, ProbeSpec, ProbeTarget } from './handlers.js';
import { ProbeWorker, type ProbeType } from './worker.js';
import { noEvents, type EventRecorder } from '../../events/index.js';
import { asPod, containerFieldPath } from '../../events/pod-ref.js';

/** The kubelet never kills with less: "always give containers a minimal shutdown window to avoid unnecessary SIGKILLs". */
const MIN_KILL_GRACE_SECONDS = 2;
const DEFAULT_POD_GRACE_SECONDS = 30;

export interface ProberDeps {
  /** A process in the running container (the driver's exec, no tty). */
  exec(id: string, args: string[]): Promise<ExecProcess>;
  /** Stop the container gracefully (SIGTERM, SIGKILL after graceMs). */
  stop(id: string, graceMs: number): Promise<void>;
  /** Sync the Pod with this key again: a probe result changed or a container was killed. */
  requeue(key: string): void;
  log: Logger;
  /** Where the kubelet's Unhealthy and Killing events go; none when unset. */
  recorder?: EventRecorder;
}

/** "Liveness", as the kubelet starts its Unhealthy messages. */
const probeTitle = (type: ProbeType): string => `${type[0].toUpperCase()}${type.slice(1)}`;

export interface ProbeState {
  /** Running and past its startup probe (ContainerStatus.started). */
  started: boolean;
  /** Started and past its readiness probe (ContainerStatus.ready). */
  ready: boolean;
}

interface ContainerProbes {
  /** Which run of the container the workers probe: a restart is a new run with fresh workers. */
  run: string;
  key: string;
  started: boolean;
  workers: Map<ProbeType, ProbeWorker>;
}

type ProbedContainer = Container & { livenessProbe?: ProbeSpec; readinessProbe?: ProbeSpec; startupProbe?: ProbeSpec };

export interface ObservedRun {
  /** The Pod's work-queue key. */
  key: string;
  pod: KubeObject;
  container: string;
  /** The driver's container id (the same across restarts of the container). */
  id: string;
  /** When this run started (RFC 3339): initialDelaySeconds count from here (from now when the runtime does not say). */
  startedAt: string | undefined;
  restartCount: number;
  /** The Pod's address (tcpSocket and httpGet probes connect to it); undefined without a node network. */
  podIP?: string;
}

export class Prober {
  private readonly containers = new Map<string, ContainerProbes>();

  constructor(private readonly d: ProberDeps) {}

  /** A container is running: make sure its probes run for this run of it, and report where they stand. */
  observe(o: ObservedRun): ProbeState {
    // Only app containers are probed: validation forbids probes on (non-sidecar) init containers.
    const spec = ((o.pod.spec?.containers as ProbedContainer[] | undefined) ?? []).find((c) => c.name === o.container);
    if (!spec || (!spec.livenessProbe && !spec.readinessProbe && !spec.startupProbe)) {
      this.forget(o.id);
      return { started: true, ready: true };
    }
    const run = `${o.restartCount}@${o.startedAt ?? ''}`;
    let cp = this.containers.get(o.id);
    if (cp && cp.run !== run) {
      this.forget(o.id);
      cp = undefined;
    }
    if (!cp) {
      cp = { run, key: o.key, started: false, workers: new Map() };
      this.containers.set(o.id, cp);
      this.begin(cp, o, spec);
    }
    const readiness = cp.workers.get('readiness');
    return { started: cp.started, ready: cp.started && (readiness ? readiness.success : true) };
  }

  /** The container is not running (exited, waiting, removed): its probes stop. */
  forget(id: string): void {
    const cp = this.containers.get(id);
    if (!cp) return;
    for (const w of cp.workers.values()) w.stop();
    this.containers.delete(id);
  }

  /** The Pod is going (or done): every probe of its containers stops. */
  forgetPod(uid: string): void {
    for (const id of [...this.containers.keys()]) if (parseContainerId(id)?.podUid === uid) this.forget(id);
  }

  /** The agent is stopping. */
  stopAll(): void {
    for (const id of [...this.containers.keys()]) this.forget(id);
  }

  private begin(cp: ContainerProbes, o: ObservedRun, spec: ProbedContainer): void {
    const uid = String(o.pod.metadata.uid);
    const target: ProbeTarget = {
      containerId: o.id,
      container: o.container,
      netnsPath: netnsPath(uid),
      podIP: o.podIP,
      ports: spec.ports ?? [],
      exec: (id, args) => this.d.exec(id, args),
    };
    const parsed = o.startedAt ? Date.parse(o.startedAt) : NaN;
    const startedAtMs = Number.isNaN(parsed) ? Date.now() : parsed;
    const log = this.d.log.child({ pod: o.key, container: o.container });
    const current = (): boolean => this.containers.get(o.id) === cp;
    const podGrace = o.pod.spec?.terminationGracePeriodSeconds as number | undefined;
    const pod = asPod(o.pod);
    const fieldPath = containerFieldPath(o.pod, o.container);
    const recorder = this.d.recorder ?? noEvents;

    const add = (type: ProbeType, probe: ProbeSpec, onChange: (ok: boolean, last: ProbeResult) => void): void => {
      const w = new ProbeWorker({
        type,
        probe,
        target,
        startedAtMs,
        log,
        onChange: (ok, last) => current() && onChange(ok, last),
        // Every failed probe, as the kubelet reports it: the recorder folds the repeats into one Event's count.
        onFailure: (r) => current() && recorder.event(pod, 'Warning', 'Unhealthy', `${probeTitle(type)} probe failed: ${r.message}`, { fieldPath }),
      });
      cp.workers.set(type, w);
      w.start();
    };
    const kill = (type: ProbeType, probe: ProbeSpec): void => {
      const grace = Math.max(MIN_KILL_GRACE_SECONDS, probe.terminationGracePeriodSeconds ?? podGrace ?? DEFAULT_POD_GRACE_SECONDS);
      // The kubelet's "Killing" event; the exit then reaches the pod worker (conmon's exit file, or this requeue).
      const reason = `Container ${o.container} failed ${type} probe, will be restarted`;
      log.warn('killing container', { probe: type, reason, graceSeconds: grace });
      recorder.event(pod, 'Normal', 'Killing', reason, { fieldPath });
      this.d
        .stop(o.id, grace * 1000)
        .catch((e: Error) => log.warn('cannot stop container after failed probe', { probe: type, error: e.message }))
        .finally(() => this.d.requeue(cp.key));
    };
    const startLivenessAndReadiness = (): void => {
      cp.started = true;
      const liveness = spec.livenessProbe;
      if (liveness)
        add('liveness', liveness, (ok) => {
          if (!ok) kill('liveness', liveness);
        });
      if (spec.readinessProbe) add('readiness', spec.readinessProbe, () => this.d.requeue(cp.key));
    };

    const startup = spec.startupProbe;
    if (!startup) return startLivenessAndReadiness();
    add('startup', startup, (ok) => {
      if (!ok) return kill('startup', startup);
      // Started for the rest of this run: the startup probe is not run again.
      cp.workers.get('startup')?.stop();
      cp.workers.delete('startup');
      startLivenessAndReadiness();
      this.d.requeue(cp.key);
    });
  }
}
