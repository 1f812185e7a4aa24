// A control plane without an agent, for controller tests: the real resource
// service on a fresh SQLite store (admission, validation, defaults, status
// subresource as `lodge up` runs them), and controllers started on their own
// informers and stopped again — by the test, or all at close().
import { setMaxListeners } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SchemaValidator } from '../../src/api/admission/schema-validator.js';
import { ResourceService } from '../../src/api/resources/resource-service.js';
import { registry as defaultRegistry } from '../../src/apis/registry.js';
import { InformerFactory, type ControllerContext } from '../../src/controllers/runtime/informer-factory.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { bootstrapNamespaces } from '../../src/up/bootstrap.js';
import type { Logger } from '../../src/util/log.js';
import { removeDir, waitFor } from '../e2e/harness.js';

/** The controllers' logger in tests: warnings only with LODGE_LOG_LEVEL set, errors always (they mean a bug). */
export const quietLog: Logger = {
  info: () => {},
  warn: (m, f) => void (process.env.LODGE_LOG_LEVEL && process.stderr.write(`${JSON.stringify({ m, ...f })}\n`)),
  error: (m, f) => void process.stderr.write(`${JSON.stringify({ m, ...f })}\n`),
  child: () => quietLog,
};

export interface Running {
  stop(): Promise<void>;
}

export class ControllerEnv {
  private readonly running = new Set<Running>();

  private constructor(
    readonly svc: ResourceService,
    private readonly store: SqliteStore,
    private readonly dir: string,
    private readonly log: Logger,
  ) {}

  /** prefix: of the temporary data dir; log: what the controllers log to. */
  static async open(prefix: string, log: Logger): Promise<ControllerEnv> {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    const store = SqliteStore.open(join(dir, 'store.db'));
    const registry = defaultRegistry();
    const svc = new ResourceService(store, registry, new SchemaValidator(registry));
    await bootstrapNamespaces(svc);
    return new ControllerEnv(svc, store, dir, log);
  }

  /** Run a controller until its stop() (or close()). */
  start(run: (ctx: ControllerContext) => Promise<void>): Running {
    const abort = new AbortController();
    setMaxListeners(0, abort.signal);
    const informers = new InformerFactory(this.svc, this.log, abort.signal);
    const done = run({ svc: this.svc, registry: this.svc.registry, informers, log: this.log, signal: abort.signal });
    const handle: Running = {
      stop: async () => {
        this.running.delete(handle);
        abort.abort();
        await done;
        await informers.stopped();
      },
    };
    this.running.add(handle);
    return handle;
  }

  async close(): Promise<void> {
    for (const r of [...this.running]) await r.stop();
    await this.store.close();
    removeDir(this.dir);
  }
}

/** Poll until fn returns a value, in short ticks (in-process controllers react in milliseconds). */
export function eventually<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 10_000): Promise<T> {
  return waitFor(what, fn, timeoutMs, 20);
}
