// What every API command needs: a client built from the kubeconfig and global
// flags, the namespace to work in, and resource-name resolution. The CLI is a
// client of the API like any other: it never reads the store.
import type { Command } from 'commander';
import { KubeClient } from '../client/client.js';
import type { DiscoveredResource } from '../client/discovery.js';
import { loadKubeconfig } from '../client/kubeconfig.js';
import { parseDuration } from './duration.js';

export interface GlobalOptions {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  requestTimeout?: string;
}

export class CliContext {
  constructor(
    readonly client: KubeClient,
    /** -n, else the context's namespace, else "default". */
    readonly namespace: string,
    /** Whether -n was given (a manifest's own namespace must then agree with it). */
    readonly explicitNamespace: boolean,
  ) {}

  resolve(typed: string): Promise<DiscoveredResource> {
    return this.client.discovery.resolve(typed);
  }

  /**
   * The namespace to use for a manifest's object, enforcing kubectl's rule
   * against contradicting -n. The message is kubectl's; callers add which
   * file it came from (`error when applying "FILE": ...`).
   */
  namespaceFor(ref: { namespaced: boolean }, objNamespace: string | undefined): string | undefined {
    if (!ref.namespaced) return undefined;
    if (objNamespace && this.explicitNamespace && objNamespace !== this.namespace) {
      throw new Error(
        `the namespace from the provided object "${objNamespace}" does not match the namespace "${this.namespace}". You must pass '--namespace=${objNamespace}' to perform this operation.`,
      );
    }
    return objNamespace || this.namespace;
  }
}

/** Build the context from the program-wide flags visible to `cmd`. */
export async function contextFor(cmd: Command): Promise<CliContext> {
  const g = cmd.optsWithGlobals<GlobalOptions>();
  const timeoutMs = g.requestTimeout ? parseDuration(g.requestTimeout) : 0;
  const config = await loadKubeconfig({ kubeconfig: g.kubeconfig, context: g.context });
  const client = new KubeClient({ ...config, timeoutMs });
  return new CliContext(client, g.namespace || config.namespace || 'default', Boolean(g.namespace));
}

/** Run a command body with a context, closing the client's connections afterwards. */
export async function withContext(cmd: Command, body: (ctx: CliContext) => Promise<void>): Promise<void> {
  const ctx = await contextFor(cmd);
  try {
    await body(ctx);
  } finally {
    await ctx.client.close();
  }
}
