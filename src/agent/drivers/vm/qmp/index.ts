// QMP, the QEMU Machine Protocol, over a unix socket.
export { QmpClient, type ExecuteOptions, type QmpConnectOptions, type WaitForEventOptions } from './client.js';
export { QmpClosedError, QmpConnectError, QmpError, QmpTimeoutError } from './errors.js';
export type { QmpEvent, QmpGreeting } from './protocol.js';
