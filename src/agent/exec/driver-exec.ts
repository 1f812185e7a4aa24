// This node's exec source: a Pod's container is the driver workload named by
// containerId(pod uid, container name), the same id the pod worker creates;
// an Instance is instanceId(uid), as the instance controller creates it, in
// whichever driver holds it (the container driver for system containers, the
// VM driver for VMs, which the agent opens later and adds).
import { containerId } from '../container-spec.js';
import { ExecFailedError, WorkloadNotFoundError, type ExecProcess, type InstanceDriver } from '../runtime/driver.js';
import { instanceId } from '../instances/ids.js';
import { ExecUnavailableError, type ExecTarget, type NodeAttachOptions, type NodeExec, type NodeExecOptions } from './node-exec.js';

export class DriverNodeExec implements NodeExec {
  private readonly instanceDrivers: InstanceDriver[];

  /** `driver` runs Pods' containers (and system containers); more drivers for Instances come with addDriver. */
  constructor(private readonly driver: InstanceDriver) {
    this.instanceDrivers = [driver];
  }

  /** Another driver that may hold Instances (the VM driver); returns the function that removes it. */
  addDriver(d: InstanceDriver): () => void {
    if (!this.instanceDrivers.includes(d)) this.instanceDrivers.push(d);
    return () => {
      const i = this.instanceDrivers.indexOf(d);
      if (i > 0) this.instanceDrivers.splice(i, 1);
    };
  }

  async exec(_nodeName: string, target: ExecTarget, opts: NodeExecOptions): Promise<ExecProcess> {
    const id = target.kind === 'pod' ? containerId(target.uid, target.container) : instanceId(target.uid);
    const container = target.kind === 'pod' ? target.container : id;
    // Ids are unique across drivers (one workload per instance uid): the driver that knows the id is the one that runs it.
    const drivers = target.kind === 'pod' ? [this.driver] : this.instanceDrivers;
    for (const [i, driver] of drivers.entries()) {
      try {
        return await driver.exec(id, { args: opts.command, tty: opts.tty, stdin: opts.stdin });
      } catch (e) {
        // Not created yet, or removed after it ended: to a client both mean there is no container to exec in.
        if (e instanceof WorkloadNotFoundError) {
          if (i < drivers.length - 1) continue;
          throw new ExecUnavailableError('container', `container not found ("${container}")`);
        }
        if (e instanceof ExecFailedError) throw new ExecUnavailableError('notRunning', driver.kind === 'vm' ? `cannot exec in virtual machine ${container}: ${e.reason}` : `container ${container} is not running: ${e.reason}`);
        throw e;
      }
    }
    throw new ExecUnavailableError('container', `container not found ("${container}")`);
  }

  async attach(_nodeName: string, target: Extract<ExecTarget, { kind: 'pod' }>, opts: NodeAttachOptions): Promise<ExecProcess> {
    const id = containerId(target.uid, target.container);
    if (!this.driver.attach) throw new ExecUnavailableError('notRunning', `container ${target.container}: this node's runtime cannot attach`);
    try {
      return await this.driver.attach(id, { stdin: opts.stdin });
    } catch (e) {
      if (e instanceof WorkloadNotFoundError) throw new ExecUnavailableError('container', `container not found ("${target.container}")`);
      if (e instanceof ExecFailedError) throw new ExecUnavailableError('notRunning', `container ${target.container} is not running: ${e.reason}`);
      throw e;
    }
  }
}
