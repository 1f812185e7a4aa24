// Kubeconfig files: writing the admin one `lodge up` hands out, and finding
// and reading one the way kubectl does, so `lodge` and kubectl agree on which
// cluster they talk to. Lodge adds ~/.lodge/kubeconfig ahead of ~/.kube/config
// so a local `lodge up` works without touching the user's kubectl setup.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import YAML from 'yaml';
import { writeFileAtomic } from '../pki/atomic-write.js';
import type { ClientConfig } from './config.js';

export interface KubeconfigSpec {
  server: string;
  caPem: string;
  token?: string;
  clientCertPem?: string;
  clientKeyPem?: string;
  /** Name of the context and the cluster. Default 'lodge'. */
  contextName?: string;
  /** Name of the user entry. Default `${contextName}-admin`. */
  userName?: string;
  /** Default namespace of the context. */
  namespace?: string;
}

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

/** Write a single-context kubeconfig (0600: it holds credentials) atomically. */
export async function writeKubeconfig(path: string, spec: KubeconfigSpec): Promise<void> {
  const name = spec.contextName ?? 'lodge';
  const userName = spec.userName ?? `${name}-admin`;
  const user: Record<string, string> = {};
  if (spec.token) user.token = spec.token;
  if (spec.clientCertPem) user['client-certificate-data'] = b64(spec.clientCertPem);
  if (spec.clientKeyPem) user['client-key-data'] = b64(spec.clientKeyPem);
  const context: Record<string, string> = { cluster: name, user: userName };
  if (spec.namespace) context.namespace = spec.namespace;
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
    clusters: [{ name, cluster: { server: spec.server, 'certificate-authority-data': b64(spec.caPem) } }],
    users: [{ name: userName, user }],
    contexts: [{ name, context }],
    'current-context': name,
  };
  await writeFileAtomic(path, YAML.stringify(doc), { mode: 0o600 });
}

export interface KubeconfigLocateOptions {
  /** --kubeconfig: used as is, and must exist. */
  kubeconfig?: string;
  /** Defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** Defaults to $HOME, then os.homedir(). */
  home?: string;
}

export interface KubeconfigLocation {
  /** The file to read, or undefined when none exists. */
  path?: string;
  /** Every place looked at, in order, for "not found" messages. */
  tried: string[];
}

/** Find the kubeconfig: --kubeconfig, $KUBECONFIG (first existing), ~/.lodge/kubeconfig, ~/.kube/config. */
export function locateKubeconfig(opts: KubeconfigLocateOptions = {}): KubeconfigLocation {
  if (opts.kubeconfig) return { path: resolve(opts.kubeconfig), tried: [opts.kubeconfig] };
  const env = opts.env ?? process.env;
  const home = opts.home ?? env.HOME ?? homedir();
  const candidates = [...(env.KUBECONFIG ?? '').split(delimiter).filter(Boolean), join(home, '.lodge', 'kubeconfig'), join(home, '.kube', 'config')];
  const tried: string[] = [];
  for (const c of candidates) {
    tried.push(c);
    if (existsSync(c)) return { path: resolve(c), tried };
  }
  return { tried };
}

export interface LoadKubeconfigOptions extends KubeconfigLocateOptions {
  /** --context: use this context instead of current-context. */
  context?: string;
}

/** Locate, read and resolve a kubeconfig into a ClientConfig. */
export async function loadKubeconfig(opts: LoadKubeconfigOptions = {}): Promise<ClientConfig> {
  const loc = locateKubeconfig(opts);
  if (!loc.path) throw new Error(`no kubeconfig found (looked at ${loc.tried.join(', ')}); start a control plane with "lodge up" or pass --kubeconfig`);
  let text: string;
  try {
    text = await readFile(loc.path, 'utf8');
  } catch (err) {
    throw new Error(`reading kubeconfig ${loc.path}: ${(err as Error).message}`, { cause: err });
  }
  return parseKubeconfig(text, loc.path, opts.context);
}

type Dict = Record<string, unknown>;

function isDict(v: unknown): v is Dict {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(d: Dict, key: string): string | undefined {
  const v = d[key];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** The `inner` map of the entry named `name` in a kubeconfig list (clusters, users, contexts). */
function namedEntry(doc: Dict, list: string, inner: string, name: string, source: string): Dict {
  const entries = doc[list];
  if (Array.isArray(entries)) {
    for (const e of entries) {
      if (isDict(e) && e.name === name) return isDict(e[inner]) ? e[inner] : {};
    }
  }
  throw new Error(`kubeconfig ${source}: no ${inner} named "${name}" in ${list}`);
}

/**
 * Resolve one context of kubeconfig text. File references (certificate-authority,
 * client-certificate, client-key, tokenFile) are relative to the kubeconfig's
 * directory, as kubectl reads them.
 */
export async function parseKubeconfig(text: string, path: string, contextName?: string): Promise<ClientConfig> {
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch (err) {
    throw new Error(`kubeconfig ${path} is not valid YAML: ${(err as Error).message}`, { cause: err });
  }
  if (!isDict(doc)) throw new Error(`kubeconfig ${path} is empty or not a mapping`);
  const ctxName = contextName ?? str(doc, 'current-context');
  if (!ctxName) throw new Error(`kubeconfig ${path} has no current-context; pass --context`);
  const ctx = namedEntry(doc, 'contexts', 'context', ctxName, path);
  const clusterName = str(ctx, 'cluster');
  if (!clusterName) throw new Error(`kubeconfig ${path}: context "${ctxName}" names no cluster`);
  const cluster = namedEntry(doc, 'clusters', 'cluster', clusterName, path);
  const userName = str(ctx, 'user');
  const user = userName ? namedEntry(doc, 'users', 'user', userName, path) : {};

  const server = str(cluster, 'server');
  if (!server) throw new Error(`kubeconfig ${path}: cluster "${clusterName}" has no server`);
  if (user.exec !== undefined || user['auth-provider'] !== undefined) {
    throw new Error(`kubeconfig ${path}: user "${userName}" uses exec or auth-provider credentials, which lodge does not support; use a token or client certificate`);
  }

  const base = dirname(path);
  const readRef = async (d: Dict, dataKey: string, fileKey: string, what: string): Promise<string | undefined> => {
    const data = str(d, dataKey);
    if (data) return Buffer.from(data, 'base64').toString('utf8');
    const file = str(d, fileKey);
    if (!file) return undefined;
    const full = isAbsolute(file) ? file : join(base, file);
    try {
      return await readFile(full, 'utf8');
    } catch (err) {
      throw new Error(`kubeconfig ${path}: reading ${what} ${full}: ${(err as Error).message}`, { cause: err });
    }
  };

  const token = str(user, 'token') ?? (await readRef(user, '', 'tokenFile', 'token file'))?.trim();
  const insecure = cluster['insecure-skip-tls-verify'] === true;
  return {
    server: server.replace(/\/+$/, ''),
    caPem: await readRef(cluster, 'certificate-authority-data', 'certificate-authority', 'CA'),
    token: token || undefined,
    clientCertPem: await readRef(user, 'client-certificate-data', 'client-certificate', 'client certificate'),
    clientKeyPem: await readRef(user, 'client-key-data', 'client-key', 'client key'),
    insecureSkipTlsVerify: insecure,
    tlsServerName: str(cluster, 'tls-server-name'),
    namespace: str(ctx, 'namespace'),
    source: path,
    contextName: ctxName,
  };
}
