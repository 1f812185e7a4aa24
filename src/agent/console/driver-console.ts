// This node's console source: an Instance is the driver workload
// instanceId(uid), on the container driver (a system container's terminal)
// or the VM driver (the serial port); its log is the console.log in the
// instance's directory, kept after a stop.
import { ExecFailedError, WorkloadNotFoundError, type InstanceDriver } from '../runtime/driver.js';
import { instanceId } from '../instances/ids.js';
import { openConsoleLog } from './console-log.js';
import { ConsoleUnavailableError, type ConsoleLogOptions, type ConsoleSession, type ConsoleTarget, type NodeConsole } from './node-console.js';

export interface DriverConsoleDeps {
  container: InstanceDriver;
  /** The VM driver once the agent has opened it; undefined on a node without one. */
  vm: () => InstanceDriver | undefined;
  /** The console log of an instance by uid (InstanceDirs.consoleLog). */
  logPath: (uid: string) => string;
}

export class DriverNodeConsole implements NodeConsole {
  constructor(private readonly d: DriverConsoleDeps) {}

  async attach(_nodeName: string, target: ConsoleTarget): Promise<ConsoleSession> {
    const driver = target.type === 'vm' ? this.d.vm() : this.d.container;
    if (!driver?.console) throw new ConsoleUnavailableError('node', `this node has no ${target.type === 'vm' ? 'VM driver' : 'console support'} for instance ${target.uid}`);
    const id = instanceId(target.uid);
    let stream;
    try {
      stream = await driver.console(id);
    } catch (e) {
      if (e instanceof WorkloadNotFoundError) throw new ConsoleUnavailableError('instance', `instance ${target.uid} has no workload on this node (stopped, or not started yet)`);
      if (e instanceof ExecFailedError) throw new ConsoleUnavailableError('notRunning', e.reason);
      throw e;
    }
    const resize = driver.resizeConsole?.bind(driver);
    return {
      stream,
      resize: (cols, rows) => {
        void resize?.(id, cols, rows).catch(() => undefined); // best effort: the next resize tries again
      },
    };
  }

  log(_nodeName: string, target: ConsoleTarget, opts: ConsoleLogOptions): Promise<AsyncIterable<string>> {
    return openConsoleLog(this.d.logPath(target.uid), target.type, opts);
  }
}
