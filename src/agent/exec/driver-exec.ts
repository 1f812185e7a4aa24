// This node's exec source: a Pod's container is the driver workload named by
// containerId(pod uid, container name), the same id the pod worker creates;
// an Instance is instanceId(uid), as the instance controller creates it.
import { containerId } from '../container-spec.js';
import { ExecFailedError, WorkloadNotFoundError, type ExecProcess, type InstanceDriver } from '../runtime/driver.js';
import { instanceId } from '../instances/ids.js';
import { ExecUnavailableError, type ExecTarget, type NodeExec, type NodeExecOptions } from './node-exec.js';

export class DriverNodeExec implements NodeExec {
  constructor(private readonly driver: InstanceDriver) {}

  async exec(_nodeName: string, target: ExecTarget, opts: NodeExecOptions): Promise<ExecProcess> {
    const id = target.kind === 'pod' ? containerId(target.uid, target.container) : instanceId(target.uid);
    const container = target.kind === 'pod' ? target.container : id;
    try {
      return await this.driver.exec(id, { args: opts.command, tty: opts.tty, stdin: opts.stdin });
    } catch (e) {
      // Not created yet, or removed after it ended: to a client both mean there is no container to exec in.
      if (e instanceof WorkloadNotFoundError) throw new ExecUnavailableError('container', `container not found ("${container}")`);
      if (e instanceof ExecFailedError) throw new ExecUnavailableError('notRunning', `container ${container} is not running: ${e.reason}`);
      throw e;
    }
  }
}
