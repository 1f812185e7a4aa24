// The agent's cluster DNS: informers on Services, EndpointSlices, Pods and
// Instances (the whole cluster: any workload may ask for any name) feed the
// record index; the server listens on port 53 of the node's bridge gateway
// once the node network is up and the caches are synced (never answering
// NXDOMAIN for a name only because the cache is still empty), and this node
// publishes itself as an endpoint of kube-system/kube-dns. It also tells the
// pod worker and the instances what resolv.conf to give their workloads:
// the kube-dns Service's clusterIP as the API has it, never an assumed one.
import type { Question } from 'dns-packet';
import type { KubeClient, ResourceRef } from '../../client/index.js';
import { objectKey, type ClientInformer } from '../../client/informer.js';
import type { SharedInformers } from '../../client/shared-informers.js';
import { INSTANCES, NODES, PODS } from '../../client/refs.js';
import type { KubeObject } from '../../apis/types.js';
import type { Logger } from '../../util/log.js';
import type { NodeNetwork } from '../node-network.js';
import { resolveQuestion, type ResolvedAnswer } from './cluster-resolver.js';
import { AGENT_MANAGER, DNS_NAMESPACE, DNS_SERVICE, dnsEndpointSlice, dnsSliceName, sliceMatches } from './dns-endpoint-slice.js';
import { startDnsServer, type DnsServer } from './dns-server.js';
import { DEFAULT_CLUSTER_DOMAIN, type ClusterDnsSettings } from './pod-dns-config.js';
import { RecordIndex } from './record-index.js';
import { readHostDnsConfig, HOST_RESOLV_CONF, type DnsConfig } from './resolv-conf.js';
import { formatUpstream, UpstreamForwarder, type Upstream } from './upstream.js';
import { sleep } from '../../util/sleep.js';

const SERVICES: ResourceRef = { group: '', version: 'v1', plural: 'services', namespaced: true, kind: 'Service' };
const ENDPOINT_SLICES: ResourceRef = { group: 'discovery.k8s.io', version: 'v1', plural: 'endpointslices', namespaced: true, kind: 'EndpointSlice' };

export const DNS_PORT = 53;
/** The host's resolv.conf is read again after this long (a laptop changing networks). */
const HOST_CONFIG_TTL_MS = 30_000;
/** How long a workload being created waits for the Service cache before taking what it has. */
const SETTINGS_WAIT_MS = 10_000;
const RETRY_MS = 3_000;

/** What workloads ask for their resolver settings. */
export interface ClusterDnsSource {
  settings(): Promise<ClusterDnsSettings>;
}

export interface ClusterDnsOptions {
  client: KubeClient;
  /** The agent's shared informers (Services and EndpointSlices are followed by the Service proxy too). */
  informers: SharedInformers;
  nodeName: string;
  /** The node's bridge network: the server listens on its gateway. None: no server (workloads still get resolv.conf). */
  network?: NodeNetwork;
  /** Default cluster.local. */
  clusterDomain?: string;
  /** Forward here instead of to the host's resolv.conf nameservers (--dns-upstream). */
  upstreams?: Upstream[];
  /** Default 53; tests may pick another. */
  port?: number;
  /** Default /etc/resolv.conf. */
  hostResolvConf?: string;
  log: Logger;
  signal: AbortSignal;
}

export class ClusterDns implements ClusterDnsSource {
  readonly clusterDomain: string;
  readonly #services: ClientInformer;
  readonly #slices: ClientInformer;
  readonly #pods: ClientInformer;
  readonly #instances: ClientInformer;
  readonly #log: Logger;
  /** Rebuilt on the first query after any change. */
  #index: RecordIndex | undefined;
  #host: { at: number; config: Promise<DnsConfig> } | undefined;
  #server: DnsServer | undefined;
  #publishTimer: NodeJS.Timeout | undefined;
  #publishing = false;

  constructor(private readonly o: ClusterDnsOptions) {
    this.clusterDomain = (o.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN).toLowerCase().replace(/\.$/, '');
    this.#log = o.log.child({ component: 'cluster-dns' });
    this.#services = o.informers.for(SERVICES);
    this.#slices = o.informers.for(ENDPOINT_SLICES);
    this.#pods = o.informers.for(PODS);
    this.#instances = o.informers.for(INSTANCES);
    const changed = (): void => (this.#index = undefined);
    for (const inf of [this.#services, this.#slices, this.#pods, this.#instances]) inf.addHandlers({ onAdd: changed, onUpdate: changed, onDelete: changed });
    // Someone changed or removed our slice: put it back.
    const ours = `${DNS_NAMESPACE}/${dnsSliceName(o.nodeName)}`;
    const check = (s: { metadata: { namespace?: string; name?: string } }): void => {
      if (objectKey(s as never) === ours && this.#server) this.#schedulePublish(0);
    };
    this.#slices.addHandlers({ onUpdate: (_old, s) => check(s), onDelete: check });
  }

  /** Run until the signal: the informers, then the server on the gateway. */
  run(): Promise<void> {
    return Promise.all([this.o.informers.done(), this.#serve()]).then(() => undefined);
  }

  /** The resolver settings a workload gets now. */
  async settings(): Promise<ClusterDnsSettings> {
    await Promise.race([this.#services.hasSynced, sleep(SETTINGS_WAIT_MS, this.o.signal, { unref: true })]);
    return { clusterDnsIP: this.clusterDnsIP(), clusterDomain: this.clusterDomain, host: await this.#hostConfig() };
  }

  /** kube-system/kube-dns's clusterIP as the Service cache has it. */
  clusterDnsIP(): string | undefined {
    const ip = (this.#services.cache.get(`${DNS_NAMESPACE}/${DNS_SERVICE}`)?.spec as { clusterIP?: string } | undefined)?.clusterIP;
    return ip && ip !== 'None' ? ip : undefined;
  }

  resolve(q: Question, askerIp: string): ResolvedAnswer | undefined {
    this.#index ??= RecordIndex.build(
      { services: () => this.#services.cache.values(), endpointSlices: () => this.#slices.cache.values(), pods: () => this.#pods.cache.values(), instances: () => this.#instances.cache.values() },
      this.clusterDomain,
    );
    return resolveQuestion(this.#index, q, askerIp);
  }

  #hostConfig(): Promise<DnsConfig> {
    if (!this.#host || Date.now() - this.#host.at > HOST_CONFIG_TTL_MS) {
      const path = this.o.hostResolvConf ?? HOST_RESOLV_CONF;
      const config = readHostDnsConfig(path).catch((e: Error) => {
        this.#log.warn('cannot read the host resolver settings', { path, error: e.message });
        return { nameservers: [], searches: [], options: [] };
      });
      this.#host = { at: Date.now(), config };
    }
    return this.#host.config;
  }

  /** Where queries outside the cluster go: --dns-upstream, else the host's nameservers (never ourselves). */
  async #upstreams(): Promise<Upstream[]> {
    if (this.o.upstreams?.length) return this.o.upstreams;
    const self = new Set([this.#server?.host, this.clusterDnsIP()]);
    return (await this.#hostConfig()).nameservers.filter((n) => !self.has(n)).map((host) => ({ host, port: DNS_PORT }));
  }

  async #serve(): Promise<void> {
    const network = this.o.network;
    if (!network) {
      this.#log.info('no node network: cluster DNS server not started');
      return;
    }
    await Promise.all([this.#services.hasSynced, this.#slices.hasSynced, this.#pods.hasSynced, this.#instances.hasSynced, this.#hostConfig()]);
    let upstreams = await this.#upstreams();
    // The forwarder asks for the list per query: the host's may change; the resolv.conf read is cached.
    const forwarder = new UpstreamForwarder(() => upstreams);
    const refresh = setInterval(() => void this.#upstreams().then((u) => (upstreams = u)), HOST_CONFIG_TTL_MS);
    refresh.unref();
    this.o.signal.addEventListener('abort', () => clearInterval(refresh), { once: true });
    while (!this.o.signal.aborted) {
      let host: string;
      try {
        host = await network.gateway();
        this.#server = await startDnsServer({ host, port: this.o.port ?? DNS_PORT, resolve: (q, asker) => this.resolve(q, asker), forwarder, log: this.#log });
      } catch (e) {
        if (this.o.signal.aborted) return;
        this.#log.warn('cannot start the cluster DNS server; retrying', { error: (e as Error).message });
        await sleep(RETRY_MS, this.o.signal, { unref: true });
        continue;
      }
      this.#log.info('cluster DNS serving', { address: host, port: this.#server.port, clusterDomain: this.clusterDomain, upstreams: upstreams.map(formatUpstream) });
      const server = this.#server;
      this.o.signal.addEventListener('abort', () => void server.close(), { once: true });
      this.#schedulePublish(0);
      return;
    }
  }

  #schedulePublish(ms: number): void {
    if (this.#publishTimer || this.o.signal.aborted) return;
    this.#publishTimer = setTimeout(() => {
      this.#publishTimer = undefined;
      void this.#publish();
    }, ms);
    this.#publishTimer.unref();
  }

  /** Create or correct this node's endpoint of kube-dns; retried until it holds. */
  async #publish(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    if (this.#publishing) return this.#schedulePublish(RETRY_MS);
    this.#publishing = true;
    const stored = this.#slices.cache.get(`${DNS_NAMESPACE}/${dnsSliceName(this.o.nodeName)}`);
    try {
      // The Node owns the slice. Its uid is read at each publish (they are rare): a Node deleted and registered
      // again has a new one, and a slice naming the old would be collected as soon as it was made.
      const node = await this.o.client.get<KubeObject>(NODES, this.o.nodeName);
      const want = dnsEndpointSlice({ name: this.o.nodeName, uid: String(node.metadata.uid) }, server.host, server.port, true);
      if (sliceMatches(stored, want)) return;
      if (stored)
        await this.o.client.update(
          ENDPOINT_SLICES,
          { ...stored, ...want, metadata: { ...stored.metadata, labels: { ...stored.metadata.labels, ...want.metadata.labels }, ownerReferences: want.metadata.ownerReferences } },
          { fieldManager: AGENT_MANAGER },
        );
      else await this.o.client.create(ENDPOINT_SLICES, want, { fieldManager: AGENT_MANAGER });
      this.#log.info('published this node as a kube-dns endpoint', { slice: dnsSliceName(this.o.nodeName), address: server.host, port: server.port });
    } catch (e) {
      if (this.o.signal.aborted) return;
      // A conflict (the cache was behind) or the API away: look again shortly, from the cache as it is then.
      this.#log.warn('cannot publish the kube-dns endpoint; retrying', { slice: dnsSliceName(this.o.nodeName), error: (e as Error).message });
      this.#schedulePublish(RETRY_MS);
    } finally {
      this.#publishing = false;
    }
  }
}
