// QMP failures as types, so callers can tell "QEMU said no" (QmpError,
// with QEMU's own class and text) from "there is no QEMU to ask"
// (QmpClosedError, QmpConnectError) and from a wait that ran out.

/** QEMU answered a command with an error. */
export class QmpError extends Error {
  constructor(
    readonly command: string,
    /** QEMU's error class: GenericError, CommandNotFound, DeviceNotActive, DeviceNotFound, KVMMissingCap. */
    readonly errorClass: string,
    readonly desc: string,
  ) {
    super(`QMP ${command}: ${errorClass}: ${desc}`);
  }
}

/** The connection closed (QEMU exited, or close() was called) before the answer came. */
export class QmpClosedError extends Error {
  constructor(
    readonly socketPath: string,
    readonly command?: string,
  ) {
    super(command ? `QMP ${command}: connection to ${socketPath} closed before the reply` : `QMP connection to ${socketPath} is closed`);
  }
}

/** The socket never accepted a connection (or the greeting never came) within the timeout. */
export class QmpConnectError extends Error {
  constructor(
    readonly socketPath: string,
    readonly reason: string,
  ) {
    super(`QMP connect ${socketPath}: ${reason}`);
  }
}

/** waitForEvent or execute ran out of time. */
export class QmpTimeoutError extends Error {
  constructor(
    readonly what: string,
    readonly timeoutMs: number,
  ) {
    super(`QMP: no ${what} within ${timeoutMs} ms`);
  }
}
