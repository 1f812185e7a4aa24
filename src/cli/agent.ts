// `lodge agent`: this host's node agent on its own, joined to a control plane
// elsewhere (or on this host, started with `lodge up --no-agent`). It talks to
// the API server only, over HTTPS with a bearer token, and runs until SIGTERM
// or SIGINT; the workloads it runs keep running when it stops.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { Command } from 'commander';
import { startAgent } from '../agent/agent.js';
import { KubeClient } from '../client/client.js';
import { DEFAULT_DATA_DIR } from '../up/control-plane.js';
import { createLogger } from '../util/log.js';
import { stopOnSignal } from './run-until-signal.js';
import { parseDnsFlags } from '../agent/dns/dns-flags.js';
import { DEFAULT_CLUSTER_DOMAIN } from '../agent/dns/pod-dns-config.js';
import { DEFAULT_BRIDGE, DEFAULT_CLUSTER_CIDR, DEFAULT_NAT_TABLE } from '../agent/node-network.js';
import { hollowOptions, runHollow, type HollowCliOptions } from '../hollow/hollow-cli.js';

interface AgentCliOptions {
  server: string;
  token?: string;
  tokenFile?: string;
  certificateAuthority?: string;
  insecureSkipTlsVerify?: boolean;
  dataDir: string;
  nodeName?: string;
  nodeLeaseDuration: string;
  nodeIp: string;
  nodePort: string;
  podPidsLimit: string;
  clusterCidr: string;
  bridge: string;
  natTable: string;
  clusterDomain: string;
  dnsUpstream?: string;
}

type AgentOrHollowOptions = AgentCliOptions & HollowCliOptions;

async function clientFor(o: AgentCliOptions): Promise<KubeClient> {
  let url: URL;
  try {
    url = new URL(o.server);
  } catch {
    throw new Error(`--server must be a URL such as https://10.0.0.1:6443, not ${JSON.stringify(o.server)}`);
  }
  if (url.protocol !== 'https:') throw new Error(`--server must be an https:// URL, not ${JSON.stringify(o.server)}`);
  const token = o.token ?? process.env.LODGE_TOKEN ?? (o.tokenFile ? (await readFile(o.tokenFile, 'utf8')).trim() : undefined);
  if (!token) throw new Error('a token is needed: --token T, --token-file FILE or $LODGE_TOKEN (lodge up writes it to DATA_DIR/pki/admin.token)');
  // On the control plane's own host the CA is where `lodge up` put it.
  const caFile = o.certificateAuthority ?? (existsSync(join(o.dataDir, 'pki', 'ca.crt')) ? join(o.dataDir, 'pki', 'ca.crt') : undefined);
  if (!caFile && !o.insecureSkipTlsVerify) {
    throw new Error("--certificate-authority FILE is needed to trust the server (its DATA_DIR/pki/ca.crt), or --insecure-skip-tls-verify");
  }
  const caPem = caFile ? await readFile(caFile, 'utf8').catch((e: Error) => Promise.reject(new Error(`--certificate-authority ${caFile}: ${e.message}`))) : undefined;
  return new KubeClient({ server: url.origin, caPem, token, insecureSkipTlsVerify: o.insecureSkipTlsVerify, timeoutMs: 30_000, source: 'lodge agent' });
}

export function registerAgent(program: Command): void {
  const cmd = program
    .command('agent')
    .description("run this host's node agent against a Lodge API server")
    .requiredOption('--server <url>', 'the API server, e.g. https://10.0.0.1:6443')
    .option('--token <token>', 'bearer token for the API server (or $LODGE_TOKEN)')
    .option('--token-file <file>', 'read the bearer token from this file')
    .option('--certificate-authority <file>', "CA certificate of the API server (default: DATA_DIR/pki/ca.crt when it exists)")
    .option('--insecure-skip-tls-verify', "do not verify the server's certificate")
    .option('--data-dir <dir>', 'where the agent keeps images, containers and pod state', DEFAULT_DATA_DIR)
    .option('--node-name <name>', "name of this host's Node (default: the hostname)")
    .option('--node-ip <address>', "this node's address: the API server reaches the node server here, and it is the Node's InternalIP", '127.0.0.1')
    .option('--node-port <port>', 'port of the node server (logs for the API server); 0 picks a free one', '10250')
    .option('--pod-pids-limit <n>', 'most processes each container of a Pod may have (its cgroup pids.max)', '4096')
    .option('--node-lease-duration <seconds>', 'duration of the node Lease, renewed every quarter of it; the control plane marks the node Unknown after its grace period', '40')
    .option('--cluster-cidr <cidr>', "the cluster's Pod address range (as given to lodge up): traffic from it leaving the cluster is masqueraded", DEFAULT_CLUSTER_CIDR)
    .option('--bridge <name>', "this host's bridge the workloads are attached to", DEFAULT_BRIDGE)
    .option('--nat-table <name>', "name of Lodge's nftables table (inet family) for NAT and forwarding", DEFAULT_NAT_TABLE)
    .option('--cluster-domain <domain>', 'DNS domain of Services and Pods, as given to lodge up', DEFAULT_CLUSTER_DOMAIN)
    .option('--dns-upstream <addr[:port],...>', "resolvers the cluster DNS forwards other names to (default: the host's /etc/resolv.conf)");
  hollowOptions(cmd);
  cmd.action(async (opts: AgentOrHollowOptions) => {
      // A scale-test tool instead of this host's agent: simulated nodes, nothing run.
      if (opts.hollow !== undefined) return runHollow(opts, () => clientFor(opts));
      const log = createLogger({ component: 'lodge-agent' });
      const abort = new AbortController();
      let client: KubeClient | undefined;
      let agent;
      try {
        const leaseDurationSeconds = Number(opts.nodeLeaseDuration);
        if (!Number.isInteger(leaseDurationSeconds) || leaseDurationSeconds < 1) throw new Error('--node-lease-duration must be a whole number of seconds, at least 1');
        const port = Number(opts.nodePort);
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--node-port must be a port number, not ${JSON.stringify(opts.nodePort)}`);
        if (isIP(opts.nodeIp) === 0) throw new Error(`--node-ip must be an IP address, not ${JSON.stringify(opts.nodeIp)}`);
        const podPidsLimit = Number(opts.podPidsLimit);
        if (!Number.isInteger(podPidsLimit) || podPidsLimit < 1) throw new Error('--pod-pids-limit must be a whole number, at least 1');
        const dns = parseDnsFlags(opts.clusterDomain, opts.dnsUpstream);
        client = await clientFor(opts);
        agent = await startAgent({ client, dataDir: opts.dataDir, log, signal: abort.signal, nodeName: opts.nodeName, leaseDurationSeconds, nodeServer: { host: opts.nodeIp, port }, podPidsLimit, network: { bridge: opts.bridge, natTable: opts.natTable, clusterCidr: opts.clusterCidr }, dns });
      } catch (e) {
        abort.abort();
        await client?.close();
        process.stderr.write(`lodge agent: cannot start: ${(e as Error).message}\n`);
        process.exit(1);
      }
      process.stdout.write(`lodge agent: node ${agent.nodeName} ready, server ${opts.server}\n`);
      stopOnSignal(log, async () => {
        abort.abort();
        await agent.done;
        await client?.close();
      });
    });
}
