// The control plane's credentials, created on first start and reused after:
// a CA, the API server's certificate, an admin client certificate and an
// admin bearer token, all under DATA/pki. Anything missing, expiring, no
// longer signed by the CA, or (for the server) not covering the hosts asked
// for is issued again; everything else is left alone so that kubeconfigs and
// agents holding the CA keep working across restarts.
import { X509Certificate, createPrivateKey, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-write.js';
import { createCa, issueLeaf, loadCa, type KeyAndCert, type LoadedCa } from './certs.js';
import { serverSans } from './hosts.js';
import { coversSans, isCurrent, signedBy } from './verify.js';

export interface Pki {
  caPem: string;
  serverCertPem: string;
  serverKeyPem: string;
  adminCertPem: string;
  adminKeyPem: string;
  token: string;
  /** Where each piece lives, for components that want file paths. */
  paths: PkiPaths;
}

export interface PkiPaths {
  dir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  adminCert: string;
  adminKey: string;
  token: string;
}

const CA_DAYS = 3650;
const LEAF_DAYS = 365;
/** Reissue a leaf this long before it expires, so a running host never sees it lapse. */
const RENEW_MARGIN_MS = 30 * 24 * 60 * 60 * 1000;
const KEY_MODE = 0o600;
const CERT_MODE = 0o644;

export function pkiPaths(dataDir: string): PkiPaths {
  const dir = join(dataDir, 'pki');
  return {
    dir,
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    serverCert: join(dir, 'apiserver.crt'),
    serverKey: join(dir, 'apiserver.key'),
    adminCert: join(dir, 'admin.crt'),
    adminKey: join(dir, 'admin.key'),
    token: join(dir, 'admin.token'),
  };
}

/** A file's text, or undefined when it does not exist. */
export async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`reading ${path}: ${(err as Error).message}`, { cause: err });
  }
}

async function readPair(certPath: string, keyPath: string): Promise<KeyAndCert | undefined> {
  const [certPem, keyPem] = await Promise.all([readOptional(certPath), readOptional(keyPath)]);
  return certPem && keyPem ? { certPem, keyPem } : undefined;
}

async function writePair(pair: KeyAndCert, certPath: string, keyPath: string): Promise<void> {
  // Key first: a crash between the two leaves a new key with the old cert,
  // which fails the key check below and is reissued on the next start.
  await writeFileAtomic(keyPath, pair.keyPem, { mode: KEY_MODE });
  await writeFileAtomic(certPath, pair.certPem, { mode: CERT_MODE });
}

function parseCert(pem: string): X509Certificate | undefined {
  try {
    return new X509Certificate(pem);
  } catch {
    return undefined;
  }
}

/** A stored leaf is reusable if it parses, matches its key, was signed by this CA and is not near expiry. */
function leafUsable(pair: KeyAndCert | undefined, ca: X509Certificate, extra: (cert: X509Certificate) => boolean = () => true): pair is KeyAndCert {
  if (!pair) return false;
  const cert = parseCert(pair.certPem);
  if (!cert) return false;
  try {
    if (!cert.checkPrivateKey(createPrivateKey(pair.keyPem))) return false;
  } catch {
    return false;
  }
  return signedBy(cert, ca) && isCurrent(cert, Date.now(), RENEW_MARGIN_MS) && extra(cert);
}

async function ensureCa(paths: PkiPaths): Promise<{ pair: KeyAndCert; cert: X509Certificate }> {
  const [certPem, keyPem] = await Promise.all([readOptional(paths.caCert), readOptional(paths.caKey)]);
  if (certPem && keyPem) {
    const cert = parseCert(certPem);
    if (!cert) throw new Error(`${paths.caCert} is not a PEM certificate; fix or remove it (and everything in ${paths.dir}) to start over`);
    if (!isCurrent(cert)) throw new Error(`the Lodge CA ${paths.caCert} expired on ${cert.validTo}; remove ${paths.dir} to issue a new one`);
    return { pair: { certPem, keyPem }, cert };
  }
  // Replacing a CA silently would cut off every agent and kubeconfig that
  // trusts it, so half a CA is an error rather than a reason to start over.
  if (certPem || keyPem) throw new Error(`${paths.dir} has only one of ca.crt and ca.key; restore the other or remove both to issue a new CA`);
  const pair = await createCa('lodge-ca', CA_DAYS);
  await writePair(pair, paths.caCert, paths.caKey);
  return { pair, cert: new X509Certificate(pair.certPem) };
}

async function ensureLeaf(
  stored: KeyAndCert | undefined,
  caCert: X509Certificate,
  issue: () => Promise<KeyAndCert>,
  certPath: string,
  keyPath: string,
  extra?: (cert: X509Certificate) => boolean,
): Promise<KeyAndCert> {
  if (leafUsable(stored, caCert, extra)) return stored;
  const pair = await issue();
  await writePair(pair, certPath, keyPath);
  return pair;
}

async function ensureToken(path: string): Promise<string> {
  const existing = (await readOptional(path))?.trim();
  if (existing) return existing;
  const token = randomBytes(32).toString('base64url');
  await writeFileAtomic(path, `${token}\n`, { mode: KEY_MODE });
  return token;
}

/**
 * Create or reuse the PKI under DATA/pki. `hosts` are the addresses or names
 * the API server is reached at (its listen host); loopback, localhost and the
 * machine hostname are always included.
 */
export async function ensurePki(dataDir: string, hosts: string[]): Promise<Pki> {
  const paths = pkiPaths(dataDir);
  const ca = await ensureCa(paths);
  let loaded: LoadedCa | undefined;
  const signer = async (): Promise<LoadedCa> => (loaded ??= await loadCa(ca.pair));
  const sans = serverSans(hosts);

  const [storedServer, storedAdmin] = await Promise.all([readPair(paths.serverCert, paths.serverKey), readPair(paths.adminCert, paths.adminKey)]);
  const server = await ensureLeaf(
    storedServer,
    ca.cert,
    async () => issueLeaf(await signer(), { subject: { CN: 'lodge-apiserver' }, days: LEAF_DAYS, usage: 'server', dns: sans.dns, ips: sans.ips }),
    paths.serverCert,
    paths.serverKey,
    (cert) => coversSans(cert, sans),
  );
  const admin = await ensureLeaf(
    storedAdmin,
    ca.cert,
    async () => issueLeaf(await signer(), { subject: { CN: 'admin', O: ['system:masters'] }, days: LEAF_DAYS, usage: 'client' }),
    paths.adminCert,
    paths.adminKey,
  );
  const token = await ensureToken(paths.token);
  return {
    caPem: ca.pair.certPem,
    serverCertPem: server.certPem,
    serverKeyPem: server.keyPem,
    adminCertPem: admin.certPem,
    adminKeyPem: admin.keyPem,
    token,
    paths,
  };
}
