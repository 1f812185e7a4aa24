// `lodge up`: run the single-host control plane in the foreground until
// SIGTERM or SIGINT.
import { parseDuration } from './duration.js';
import { CONTROLLER_NAMES, enabledControllers } from '../up/controller-set.js';
import type { Command } from 'commander';
import { DEFAULT_DATA_DIR, DEFAULT_LISTEN, startControlPlane } from '../up/control-plane.js';
import { DEFAULT_NODE_PORT_RANGE, DEFAULT_SERVICE_CIDR } from '../api/allocation/service-allocator.js';
import { createLogger } from '../util/log.js';
import { DEFAULT_CLUSTER_CIDR } from '../controllers/node-ipam-controller.js';
import { DEFAULT_BRIDGE, DEFAULT_NAT_TABLE } from '../agent/node-network.js';
import { stopOnSignal } from './run-until-signal.js';
import { parseDnsFlags } from '../agent/dns/dns-flags.js';
import { DEFAULT_CLUSTER_DOMAIN } from '../agent/dns/pod-dns-config.js';

export function registerUp(program: Command): void {
  program
    .command('up')
    .description('run a single-host Lodge: store, API server, controllers and node agent')
    .option('--data-dir <dir>', 'where Lodge keeps its state', DEFAULT_DATA_DIR)
    .option('--listen <host:port>', 'address of the HTTPS API (port 0 picks a free one)', DEFAULT_LISTEN)
    .option('--compact-interval <seconds>', 'how often history older than one interval is compacted', '300')
    .option('--no-agent', 'do not run a node agent for this host (API and controllers only)')
    .option('--node-name <name>', 'name of this host\'s Node (default: the hostname)')
    .option('--pod-pids-limit <n>', 'most processes each container of a Pod may have (its cgroup pids.max)', '4096')
    .option('--node-monitor-grace-period <seconds>', 'a node whose Lease is not renewed for this long turns Unknown and is tainted unreachable', '40')
    .option('--service-cidr <cidr>', 'IPv4 range Service cluster IPs are allocated from', DEFAULT_SERVICE_CIDR)
    .option('--service-node-port-range <min-max>', 'range of ports NodePort and LoadBalancer Services are given', DEFAULT_NODE_PORT_RANGE)
    .option('--cluster-cidr <cidr>', 'IPv4 range Pod and system container addresses come from; each node gets a /24 of it', DEFAULT_CLUSTER_CIDR)
    .option('--bridge <name>', "this host's bridge the workloads are attached to", DEFAULT_BRIDGE)
    .option('--nat-table <name>', "name of Lodge's nftables table (inet family) for NAT and forwarding", DEFAULT_NAT_TABLE)
    .option('--cluster-domain <domain>', 'DNS domain of Services and Pods (<svc>.<ns>.svc.<domain>)', DEFAULT_CLUSTER_DOMAIN)
    .option('--dns-upstream <addr[:port],...>', "resolvers the cluster DNS forwards other names to (default: the host's /etc/resolv.conf)")
    .option('--no-scheduler', 'do not run the scheduler (Pods and Instances stay unbound unless another control plane schedules them)')
    .option('--no-leader-elect', 'act without holding the controllers\' and scheduler\'s Leases (only when no other control plane shares the store)')
    .option('--leader-elect-lease-duration <duration>', 'how long a standby control plane waits after the last renewal of a Lease before it takes over', '15s')
    .option('--leader-elect-renew-deadline <duration>', 'how long the leader keeps acting when it cannot renew its Lease', '10s')
    .option('--leader-elect-retry-period <duration>', 'how often Leases are renewed, or tried for', '2s')
    .option('--controllers <list>', `controllers to run, as kube-controller-manager's flag: * for all, -NAME to leave one out (${CONTROLLER_NAMES.join(', ')})`, '*')
    .action(async (opts: { scheduler: boolean; leaderElect: boolean; leaderElectLeaseDuration: string; leaderElectRenewDeadline: string; leaderElectRetryPeriod: string; controllers: string; clusterDomain: string; dnsUpstream?: string; clusterCidr: string; bridge: string; natTable: string; serviceCidr: string; serviceNodePortRange: string; dataDir: string; listen: string; compactInterval: string; agent: boolean; nodeName?: string; nodeMonitorGracePeriod: string; podPidsLimit: string }) => {
      const log = createLogger({ component: 'lodge' });
      let plane;
      try {
        const compactSeconds = Number(opts.compactInterval);
        if (!Number.isFinite(compactSeconds) || compactSeconds <= 0) throw new Error('--compact-interval must be a positive number of seconds');
        const graceSeconds = Number(opts.nodeMonitorGracePeriod);
        if (!Number.isFinite(graceSeconds) || graceSeconds <= 0) throw new Error('--node-monitor-grace-period must be a positive number of seconds');
        const podPidsLimit = Number(opts.podPidsLimit);
        if (!Number.isInteger(podPidsLimit) || podPidsLimit < 1) throw new Error('--pod-pids-limit must be a whole number, at least 1');
        const dns = parseDnsFlags(opts.clusterDomain, opts.dnsUpstream);
        const controllers = [opts.controllers];
        enabledControllers(controllers);
        const leaseMs = (flag: string, v: string): number => {
          const ms = parseDuration(v);
          if (ms <= 0) throw new Error(`${flag} must be a positive duration`);
          return ms;
        };
        const leaderElection = opts.leaderElect
          ? {
              leaseDurationMs: leaseMs('--leader-elect-lease-duration', opts.leaderElectLeaseDuration),
              renewDeadlineMs: leaseMs('--leader-elect-renew-deadline', opts.leaderElectRenewDeadline),
              retryPeriodMs: leaseMs('--leader-elect-retry-period', opts.leaderElectRetryPeriod),
            }
          : (false as const);
        if (leaderElection && leaderElection.renewDeadlineMs >= leaderElection.leaseDurationMs) throw new Error('--leader-elect-renew-deadline must be shorter than --leader-elect-lease-duration');
        plane = await startControlPlane({
          dataDir: opts.dataDir,
          listen: opts.listen,
          log,
          compactIntervalMs: compactSeconds * 1000,
          agent: opts.agent,
          nodeName: opts.nodeName,
          nodeMonitorGraceMs: graceSeconds * 1000,
          podPidsLimit,
          serviceCIDR: opts.serviceCidr,
          serviceNodePortRange: opts.serviceNodePortRange,
          clusterCIDR: opts.clusterCidr,
          network: { bridge: opts.bridge, natTable: opts.natTable },
          dns,
          controllers,
          scheduler: opts.scheduler,
          leaderElection,
        });
      } catch (e) {
        process.stderr.write(`lodge: cannot start: ${(e as Error).message}\n`);
        process.exit(1);
      }
      process.stdout.write(`lodge: ready at ${plane.url}\n`);
      log.info('ready', { url: plane.url, kubeconfig: plane.kubeconfig });
      stopOnSignal(log, () => plane.close());
    });
}
