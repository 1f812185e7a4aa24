// The node server's TLS identity: a CA of this node's own and a serving
// certificate it signs for the node's address, kept under DATA/node-pki and
// reused across restarts. The agent publishes the CA on its Node (an
// annotation written through the authenticated API), and the API server
// trusts exactly that CA for this node: no shared secret has to be copied to
// a new host before it can serve logs and exec.
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { createCa, issueLeaf, loadCa } from '../../pki/certs.js';
import { writeFileAtomic } from '../../pki/atomic-write.js';
import { readOptional } from '../../pki/ensure.js';
import { isCurrent } from '../../pki/verify.js';

/** The Node annotation that carries the node server's CA (PEM). */
export const NODE_SERVER_CA_ANNOTATION = 'lodge.dev/node-server-ca';

export interface ServingCert {
  caPem: string;
  certPem: string;
  keyPem: string;
}

const CA_DAYS = 3650;
const LEAF_DAYS = 365;
const RENEW_MARGIN_MS = 30 * 24 * 60 * 60 * 1000;

export async function ensureServingCert(dataDir: string, nodeName: string, ip: string): Promise<ServingCert> {
  const dir = join(dataDir, 'node-pki');
  const paths = { caCert: join(dir, 'node-ca.crt'), caKey: join(dir, 'node-ca.key'), cert: join(dir, 'node.crt'), key: join(dir, 'node.key') };
  let caPem = await readOptional(paths.caCert);
  let caKeyPem = await readOptional(paths.caKey);
  if (!caPem || !caKeyPem || !isCurrent(new X509Certificate(caPem), Date.now(), RENEW_MARGIN_MS)) {
    const ca = await createCa(`lodge node ${nodeName}`, CA_DAYS);
    caPem = ca.certPem;
    caKeyPem = ca.keyPem;
    await writeFileAtomic(paths.caKey, caKeyPem, { mode: 0o600 });
    await writeFileAtomic(paths.caCert, caPem, { mode: 0o644 });
  }
  let certPem = await readOptional(paths.cert);
  let keyPem = await readOptional(paths.key);
  const leaf = certPem ? new X509Certificate(certPem) : undefined;
  const ok = leaf && keyPem && isCurrent(leaf, Date.now(), RENEW_MARGIN_MS) && leaf.checkIssued(new X509Certificate(caPem)) && leaf.checkIP(ip) !== undefined;
  if (!ok) {
    const issued = await issueLeaf(await loadCa({ certPem: caPem, keyPem: caKeyPem }), { subject: { CN: nodeName }, days: LEAF_DAYS, usage: 'server', ips: [ip], dns: [nodeName] });
    certPem = issued.certPem;
    keyPem = issued.keyPem;
    await writeFileAtomic(paths.key, keyPem, { mode: 0o600 });
    await writeFileAtomic(paths.cert, certPem, { mode: 0o644 });
  }
  return { caPem, certPem: certPem!, keyPem: keyPem! };
}
