// Brings one Pod on this node to its desired state and reports it: creates
// the sandbox, runs the init containers (init-containers.ts) and then the
// containers with their env (env-resolver.ts) and volumes (volumes/),
// restarts them per restartPolicy with back-off, probes them (probes/),
// stops and removes everything when the Pod is deleted, and writes the Pod's
// status (through the status subresource only). Level-triggered: every call
// compares the Pod with what the driver reports, whatever happened before.
import { readdir } from 'node:fs/promises';
import type { KubeObject } from '../apis/types.js';
import type { KubeClient } from '../client/index.js';
import { CONFIGMAPS, PODS, SECRETS } from '../client/refs.js';
import type { Logger } from '../util/log.js';
import { containerId, parseContainerId, resolveArgs, resolveLimits, storeImageName, type PodContainer } from './container-spec.js';
import { ContainerConfigError, containerEnv, mergeImageEnv, type ConfigSource } from './env-resolver.js';
import { builtinSpec, type ImageStore } from './images/index.js';
import { initializingStatus, initRestartPolicy, syncInitContainers, type InitResult } from './init-containers.js';
import { netnsPath, podCgroup, type PodSandboxes } from './pod-sandbox.js';
import { WorkloadNotFoundError, type InstanceDriver, type WorkloadState } from './runtime/driver.js';
import { containerMounts } from './volumes/pod-volumes.js';
import { Prober } from './probes/prober.js';
import { rfc3339 } from '../api/resources/clock.js';
import { hasStatus } from '../client/errors.js';
import type { NodeNetwork } from './node-network.js';
import type { ClusterDnsSource } from './dns/cluster-dns.js';
import { podHostsFile } from './dns/hosts-file.js';
import { podDnsConfig } from './dns/pod-dns-config.js';
import { formatResolvConf } from './dns/resolv-conf.js';
import { noEvents, type EventRecorder, type EventType } from '../events/index.js';
import { asPod, containerFieldPath } from '../events/pod-ref.js';

export const MANAGER = 'lodge-agent';
/** The kubelet's crash-loop back-off: 10 s doubling to 5 min (the first restart is immediate here). */
export const BACKOFF_BASE_MS = 10_000;
export const BACKOFF_MAX_MS = 300_000;
/** The kubelet's podPidsLimit default here: enough for any service, too few for a fork bomb to hurt the host. */
export const DEFAULT_POD_PIDS_LIMIT = 4096;

type State = Record<string, Record<string, unknown>>;
export interface ContainerStatus {
  name: string;
  state: State;
  lastState: State;
  ready: boolean;
  restartCount: number;
  image: string;
  imageID: string;
  containerID?: string;
  started: boolean;
}

/** What the agent remembers about a container between syncs; rebuilt from the Pod's status after a restart. */
interface RunRecord {
  restartCount: number;
  lastState: State;
  imageID: string;
}

export interface PodWorkerDeps {
  client: KubeClient;
  nodeName: string;
  driver: InstanceDriver;
  images: ImageStore;
  sandboxes: PodSandboxes;
  /** Where the driver keeps one directory per container id. */
  containersDir: string;
  log: Logger;
  /** Look at this Pod again after ms (back-off ends, image may have been imported). */
  requeueAfter(key: string, ms: number): void;
  /** The store name of a container's image (through the Image resources); storeImageName when unset. */
  resolveImage?(ref: string): string;
  /** Most processes (threads included) each container of a Pod may have: its cgroup's pids.max. */
  podPidsLimit?: number;
  /** This node's address, as its Node reports it (status.hostIP); default 127.0.0.1. */
  hostIP?: string;
  /** The agent is stopping: probes stop with it. */
  signal?: AbortSignal;
  /** The node's bridge network: each Pod's namespace gets an address on it (status.podIP). Loopback only when unset. */
  network?: NodeNetwork;
  /** Cluster DNS: each container gets the Pod's /etc/resolv.conf (per dnsPolicy) and /etc/hosts. Unset: the image's own files. */
  dns?: ClusterDnsSource;
  /** Where the kubelet's Pod events go (Pulled, Created, Started, Killing, BackOff, Unhealthy, Failed); none when unset. */
  recorder?: EventRecorder;
}


export function backoffMs(restartCount: number): number {
  return restartCount === 0 ? 0 : Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (restartCount - 1));
}

function shouldRestart(policy: string, exitCode: number): boolean {
  return policy === 'Always' || (policy === 'OnFailure' && exitCode !== 0);
}

export class PodWorker {
  private readonly runs = new Map<string, RunRecord>();
  /** The network namespace being made (or made) for a Pod, by uid, from its latest sync. */
  private readonly netnsReady = new Map<string, Promise<void>>();
  /** A Pod's address once its namespace is attached, by uid (attach is idempotent but costs two ip runs: done once per agent run). */
  private readonly podIPs = new Map<string, string>();
  /** Pods whose hosts and resolv.conf were written in this agent run. */
  private readonly networkFiles = new Set<string>();

  /** Liveness, readiness and startup probes, on their own timers; a changed result requeues the Pod. */
  private readonly probes: Prober;

  constructor(private readonly d: PodWorkerDeps) {
    this.probes = new Prober({
      exec: (id, args) => d.driver.exec(id, { args, tty: false }),
      stop: (id, graceMs) => d.driver.stop(id, graceMs),
      requeue: (key) => d.requeueAfter(key, 0),
      log: d.log,
      recorder: d.recorder,
    });
    d.signal?.addEventListener('abort', () => this.probes.stopAll(), { once: true });
  }

  /** An event about one container of the Pod, as the kubelet reports it. */
  private containerEvent(pod: KubeObject, container: string, type: EventType, reason: string, message: string): void {
    (this.d.recorder ?? noEvents).event(asPod(pod), type, reason, message, { fieldPath: containerFieldPath(pod, container) });
  }

  private get hostIP(): string {
    return this.d.hostIP ?? '127.0.0.1';
  }

  /** ConfigMaps and Secrets for env and volumes, read through the API each time a container is created (undefined: not found). */
  private readonly configSource: ConfigSource = {
    configMap: (ns, name) => this.getOptional(CONFIGMAPS, ns, name),
    secret: (ns, name) => this.getOptional(SECRETS, ns, name),
  };

  private async getOptional(ref: typeof PODS, namespace: string, name: string): Promise<KubeObject | undefined> {
    try {
      return await this.d.client.get(ref, name, { namespace });
    } catch (e) {
      if (hasStatus(e, 404)) return undefined;
      throw e;
    }
  }

  /** Container ids the driver holds for a pod uid (from its state dirs, so this works for Pods no longer in the API). */
  async containerIds(uid?: string): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.d.containersDir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    return names.filter((id) => {
      const p = parseContainerId(id);
      return p && (uid === undefined || p.podUid === uid);
    });
  }

  /** Delete every container of a pod and its sandbox. */
  async teardown(uid: string, graceMs = 0): Promise<void> {
    // First, so a probe failing while the containers stop cannot kill or requeue anything.
    this.probes.forgetPod(uid);
    const ids = await this.containerIds(uid);
    if (graceMs > 0) {
      await Promise.all(
        ids.map((id) =>
          this.d.driver.stop(id, graceMs).catch((e) => {
            if (!(e instanceof WorkloadNotFoundError)) this.d.log.warn('stop failed; deleting anyway', { id, error: (e as Error).message });
          }),
        ),
      );
    }
    for (const id of ids) {
      await this.d.driver.delete(id);
      this.runs.delete(id);
    }
    this.netnsReady.delete(uid);
    this.podIPs.delete(uid);
    this.networkFiles.delete(uid);
    // Unplug and free the address before the namespace goes; a Pod that never had one costs a lookup.
    await this.d.network?.release(uid);
    await this.d.sandboxes.remove(uid);
  }

  /** A Pod being deleted: stop gracefully, remove everything, then remove the Pod itself. */
  async terminate(pod: KubeObject): Promise<void> {
    const uid = String(pod.metadata.uid);
    const grace = pod.metadata.deletionGracePeriodSeconds ?? (pod.spec?.terminationGracePeriodSeconds as number | undefined) ?? 30;
    for (const s of [...((pod.status?.initContainerStatuses as ContainerStatus[] | undefined) ?? []), ...((pod.status?.containerStatuses as ContainerStatus[] | undefined) ?? [])])
      if (s.state?.running) this.containerEvent(pod, s.name, 'Normal', 'Killing', `Stopping container ${s.name}`);
    await this.teardown(uid, Math.max(grace, 0) * 1000 || 1);
    try {
      await this.d.client.delete(PODS, String(pod.metadata.name), { namespace: pod.metadata.namespace, gracePeriodSeconds: 0, preconditions: { uid } });
      this.d.log.info('pod stopped and removed', { pod: `${pod.metadata.namespace}/${pod.metadata.name}` });
    } catch (e) {
      if (!hasStatus(e, 404, 409)) throw e;
    }
  }

  /** Run a Pod bound to this node and write its status. */
  async run(key: string, pod: KubeObject): Promise<void> {
    const uid = String(pod.metadata.uid);
    const phase = pod.status?.phase as string | undefined;
    if (phase === 'Succeeded' || phase === 'Failed') {
      this.probes.forgetPod(uid);
      return; // done: its containers stay (for logs) until the Pod goes
    }
    await this.d.sandboxes.ensureDir(uid);
    // The network namespace is made while the first container is prepared (its runc create waits for it).
    // The Pod's hosts file needs its address: written once it has one, before any container is created.
    const netns = this.d.sandboxes
      .ensureNetns(uid)
      .then(() => this.attach(uid))
      .then(() => this.writeNetworkFiles(pod));
    netns.catch(() => undefined); // awaited below; a container create may see the rejection first
    this.netnsReady.set(uid, netns);
    const policy = String(pod.spec?.restartPolicy ?? 'Always');
    const inits = (pod.spec?.initContainers as PodContainer[] | undefined) ?? [];
    const init = await syncInitContainers(inits, (pod.status?.initContainerStatuses as ContainerStatus[] | undefined) ?? [], (c, prev) =>
      this.syncContainer(key, pod, c, prev, initRestartPolicy(policy)),
    );
    const containers = (pod.spec?.containers as PodContainer[] | undefined) ?? [];
    const prev = (pod.status?.containerStatuses as ContainerStatus[] | undefined) ?? [];
    const statuses: ContainerStatus[] = [];
    for (const c of containers) {
      const old = prev.find((s) => s.name === c.name);
      const s = init.done ? await this.syncContainer(key, pod, c, old, policy) : initializingStatus(c, old);
      // Probes run only while the container does; a running one had them (re)started by syncContainer.
      if (!s.state.running) this.probes.forget(containerId(uid, c.name));
      statuses.push(s);
    }
    await netns;
    await this.writeStatus(pod, statuses, inits.length ? init : undefined);
  }

  /** Put the Pod's namespace on the node's bridge (once per agent run); its address goes to status.podIP. */
  private async attach(uid: string): Promise<void> {
    if (!this.d.network || this.podIPs.has(uid)) return;
    const a = await this.d.network.attach(uid, netnsPath(uid));
    this.podIPs.set(uid, a.ip);
  }

  /** /etc/hosts and /etc/resolv.conf of the Pod, as the kubelet writes them (once per agent run; rewritten only when changed). */
  private async writeNetworkFiles(pod: KubeObject): Promise<void> {
    const uid = String(pod.metadata.uid);
    if (!this.d.dns || this.networkFiles.has(uid)) return;
    const settings = await this.d.dns.settings();
    const dns = podDnsConfig(pod, settings);
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    for (const w of dns.warnings) this.d.log.warn('pod DNS settings adjusted', { pod: key, reason: w });
    await this.d.sandboxes.writeNetworkFiles(uid, {
      hosts: podHostsFile(pod, this.podIPs.get(uid), settings.clusterDomain),
      resolvConf: formatResolvConf(dns.config),
    });
    this.networkFiles.add(uid);
  }

  /** Bind mounts of the Pod's hosts and resolv.conf, unless the container mounts something there itself (as the kubelet decides). */
  private networkFileMounts(uid: string, mounts: Array<{ destination: string }>): Array<{ source: string; destination: string }> {
    if (!this.d.dns) return [];
    const taken = new Set(mounts.map((m) => m.destination.replace(/\/+$/, '')));
    return [
      { source: this.d.sandboxes.hostsFile(uid), destination: '/etc/hosts' },
      { source: this.d.sandboxes.resolvConf(uid), destination: '/etc/resolv.conf' },
    ].filter((m) => !taken.has(m.destination));
  }

  private async syncContainer(key: string, pod: KubeObject, c: PodContainer, prev: ContainerStatus | undefined, policy: string): Promise<ContainerStatus> {
    const uid = String(pod.metadata.uid);
    const id = containerId(uid, c.name);
    let rec = this.runs.get(id);
    if (!rec) {
      rec = { restartCount: prev?.restartCount ?? 0, lastState: prev?.lastState ?? {}, imageID: prev?.imageID ?? '' };
      this.runs.set(id, rec);
    }
    const status = (state: State, ready = false, exists = true, started = ready): ContainerStatus => ({
      name: c.name,
      state,
      lastState: rec.lastState,
      ready,
      restartCount: rec.restartCount,
      image: c.image,
      imageID: rec.imageID,
      ...(exists ? { containerID: `runc://${id}` } : {}),
      started,
    });
    // Running: ready and started as the probes say (both true for a container without probes).
    const running = (s: WorkloadState): ContainerStatus => {
      const p = this.probes.observe({ key, pod, container: c.name, id, startedAt: s.startedAt, restartCount: rec.restartCount, podIP: this.podIPs.get(uid) });
      return status({ running: { startedAt: s.startedAt ?? rfc3339() } }, p.ready, true, p.started);
    };

    let st = await this.state(id);
    if (st?.status === 'unknown') {
      await this.d.driver.delete(id);
      st = undefined;
    }
    if (!st) {
      // Exited for good before the workload was lost (a reboot): nothing to run.
      const term = prev?.state?.terminated as { exitCode?: number } | undefined;
      if (term && !shouldRestart(policy, term.exitCode ?? 1)) return { ...prev!, ready: false, started: false };
      const err = await this.createAndStart(pod, c, id, rec);
      if (err) {
        this.d.requeueAfter(key, 10_000);
        return status({ waiting: err }, false, false);
      }
      st = await this.state(id);
    }
    if (st?.status === 'created') {
      await this.startContainer(pod, c, id);
      st = await this.state(id);
    }
    if (!st) return status({ waiting: { reason: 'ContainerCreating' } }, false, false);
    if (st.status === 'running' || st.status === 'paused') return running(st);

    // Stopped: record how, then restart (after the back-off) or leave it terminated.
    const exitCode = st.exitCode ?? 137;
    const terminated: Record<string, unknown> = {
      exitCode,
      reason: st.oomKilled ? 'OOMKilled' : exitCode === 0 ? 'Completed' : 'Error',
      ...(st.startedAt ? { startedAt: st.startedAt } : {}),
      ...(st.finishedAt ? { finishedAt: st.finishedAt } : {}),
      containerID: `runc://${id}`,
    };
    if (!shouldRestart(policy, exitCode)) return status({ terminated });
    const delay = backoffMs(rec.restartCount);
    const finished = st.finishedAt ? Date.parse(st.finishedAt) : Date.now();
    const wait = finished + delay - Date.now();
    if (wait > 0) {
      this.d.requeueAfter(key, wait + 50);
      this.containerEvent(pod, c.name, 'Warning', 'BackOff', `Back-off restarting failed container ${c.name} in pod ${pod.metadata.name}_${pod.metadata.namespace}(${uid})`);
      return { ...status({ waiting: { reason: 'CrashLoopBackOff', message: `back-off ${Math.round(delay / 1000)}s restarting failed container=${c.name} pod=${pod.metadata.name}_${pod.metadata.namespace}(${uid})` } }), lastState: { terminated } };
    }
    await this.d.driver.delete(id);
    rec.restartCount++;
    rec.lastState = { terminated };
    this.d.log.info('restarting container', { pod: key, container: c.name, exitCode, restartCount: rec.restartCount });
    const err = await this.createAndStart(pod, c, id, rec);
    if (err) {
      this.d.requeueAfter(key, 10_000);
      return status({ waiting: err }, false, false);
    }
    st = await this.state(id);
    if (st?.status === 'running') return running(st);
    // Exited already: the next sync (the exit watch) records it.
    this.d.requeueAfter(key, 100);
    return status({ waiting: { reason: 'ContainerCreating' } });
  }

  private async state(id: string): Promise<WorkloadState | undefined> {
    try {
      return await this.d.driver.state(id);
    } catch (e) {
      if (e instanceof WorkloadNotFoundError) return undefined;
      throw e;
    }
  }

  /** Create and start one run of a container; a waiting state when its image is not here. */
  private async createAndStart(pod: KubeObject, c: PodContainer, id: string, rec: RunRecord): Promise<{ reason: string; message: string } | undefined> {
    const uid = String(pod.metadata.uid);
    const name = this.d.resolveImage?.(c.image) ?? storeImageName(c.image);
    let image;
    try {
      // A built-in image (busybox, debian:<release>) is built here on first use.
      const known = builtinSpec(name) !== undefined || (await this.d.images.get(name).catch(() => undefined));
      if (!known) throw new Error('not found');
      image = await this.d.images.prepare(name);
    } catch (e) {
      const why = (e as Error).message === 'not found' ? '' : ` (${(e as Error).message})`;
      const message = `image ${c.image} is not in the node's image store; import it with lodge image import${why}`;
      this.containerEvent(pod, c.name, 'Warning', 'Failed', `Failed to pull image "${c.image}": ${message}`);
      return { reason: 'ErrImagePull', message };
    }
    // Lodge never pulls: images are imported into the node's store, so the kubelet's "already present" it is.
    this.containerEvent(pod, c.name, 'Normal', 'Pulled', `Container image "${c.image}" already present on machine`);
    rec.imageID = image.digest;
    // Env (ConfigMaps and Secrets read now), argv ($(VAR) from that env) and volumes, as the kubelet resolves them per run.
    let args, env, mounts;
    try {
      const vars = await containerEnv(c, { pod, hostIP: this.hostIP, source: this.configSource });
      env = mergeImageEnv(image.config, vars);
      args = resolveArgs(c, image.config, vars);
      mounts = await containerMounts(c.volumeMounts, { pod, podDir: this.d.sandboxes.dir(uid), source: this.configSource, env: vars });
    } catch (e) {
      if (!(e instanceof ContainerConfigError)) throw e;
      this.containerEvent(pod, c.name, 'Warning', 'Failed', `Error: ${(e as Error).message}`);
      return { reason: 'CreateContainerConfigError', message: (e as Error).message };
    }
    await this.failedEvent(pod, c, () => this.d.driver.create({
      id,
      node: this.d.nodeName,
      rootfs: image.rootfs,
      args,
      env,
      cwd: c.workingDir || image.config.workingDir || '/',
      hostname: String(pod.metadata.name).slice(0, 63),
      limits: { ...resolveLimits(c), pids: this.d.podPidsLimit ?? DEFAULT_POD_PIDS_LIMIT },
      cgroupsPath: `${podCgroup(uid)}/${c.name}`,
      netnsPath: netnsPath(uid),
      ready: this.netnsReady.get(uid),
      mounts: [...mounts, ...this.networkFileMounts(uid, mounts)],
      logPath: this.d.sandboxes.logPath(uid, c.name, rec.restartCount),
      // kubectl attach and kubectl run -i/-t: conmon holds the terminal and stdin, as the runtime does for the kubelet.
      ...(c.tty ? { terminal: true } : {}),
      ...(c.stdin ? { stdin: true, stdinOnce: c.stdinOnce === true } : {}),
    }));
    this.containerEvent(pod, c.name, 'Normal', 'Created', `Created container ${c.name}`);
    await this.startContainer(pod, c, id);
    return undefined;
  }

  private async startContainer(pod: KubeObject, c: PodContainer, id: string): Promise<void> {
    await this.failedEvent(pod, c, () => this.d.driver.start(id));
    this.containerEvent(pod, c.name, 'Normal', 'Started', `Started container ${c.name}`);
  }

  /** The kubelet's Failed event ("Error: ..."), for a runtime step that throws; the error goes on to the caller. */
  private async failedEvent(pod: KubeObject, c: PodContainer, step: () => Promise<void>): Promise<void> {
    try {
      await step();
    } catch (e) {
      this.containerEvent(pod, c.name, 'Warning', 'Failed', `Error: ${(e as Error).message}`);
      throw e;
    }
  }

  /** init is undefined for a Pod without init containers. */
  private async writeStatus(pod: KubeObject, statuses: ContainerStatus[], init?: InitResult): Promise<void> {
    const old = pod.status ?? {};
    const now = rfc3339();
    const podIP = this.podIPs.get(String(pod.metadata.uid));
    const initialized = !init || init.done;
    const allTerminated = init?.failed || (initialized && statuses.length > 0 && statuses.every((s) => s.state.terminated));
    // The kubelet's getPhase: Pending while initializing, Failed once an init container failed for good.
    const phase = init?.failed
      ? 'Failed'
      : !initialized
        ? 'Pending'
        : allTerminated
          ? statuses.every((s) => s.state.terminated!.exitCode === 0)
            ? 'Succeeded'
            : 'Failed'
          : statuses.some((s) => s.state.running || s.restartCount > 0 || s.state.terminated)
            ? 'Running'
            : 'Pending';
    const allReady = statuses.length > 0 && statuses.every((s) => s.ready);
    const oldConds = (old.conditions as Array<Record<string, string>> | undefined) ?? [];
    const cond = (type: string, ok: boolean, reason?: string, message?: string): Record<string, string> => {
      const status = ok ? 'True' : 'False';
      const was = oldConds.find((c) => c.type === type);
      return {
        type,
        status,
        lastTransitionTime: was?.status === status && was.lastTransitionTime ? was.lastTransitionTime : now,
        ...(ok || !reason ? {} : { reason }),
        ...(ok || !message ? {} : { message }),
      };
    };
    const incomplete = (init?.statuses ?? []).filter((s) => !s.ready).map((s) => s.name);
    const notReady = allTerminated ? 'PodCompleted' : 'ContainersNotReady';
    const status: Record<string, unknown> = {
      ...old,
      phase,
      conditions: [
        cond('PodReadyToStartContainers', true),
        cond('Initialized', initialized, 'ContainersNotInitialized', `containers with incomplete status: [${incomplete.join(' ')}]`),
        cond('Ready', allReady, notReady),
        cond('ContainersReady', allReady, notReady),
        cond('PodScheduled', true),
      ],
      hostIP: this.hostIP,
      hostIPs: [{ ip: this.hostIP }],
      ...(podIP ? { podIP, podIPs: [{ ip: podIP }] } : {}),
      startTime: (old.startTime as string | undefined) ?? now,
      ...(init ? { initContainerStatuses: init.statuses } : {}),
      containerStatuses: statuses,
    };
    if (JSON.stringify(status) === JSON.stringify(old)) return;
    const body: KubeObject = { ...pod, metadata: { ...pod.metadata }, status };
    delete body.metadata.resourceVersion;
    try {
      await this.d.client.update(PODS, body, { fieldManager: MANAGER, subresource: 'status' });
    } catch (e) {
      if (!hasStatus(e, 404, 409)) throw e; // gone or replaced meanwhile: the next sync sees it
    }
  }
}
