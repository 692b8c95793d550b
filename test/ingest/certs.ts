// Throwaway PKI for the TLS tests, made with the `openssl` CLI: a CA, a server certificate for
// 127.0.0.1/localhost signed by it, and a second, unrelated CA (to show an untrusted broker is
// refused). PEM files, unencrypted PKCS#8 keys (what both Kafka's PEM key store and Mosquitto read).
import { execFileSync } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface TestPki {
  dir: string
  /** CA that signed the server certificate. */
  caFile: string
  caKeyFile: string
  serverCertFile: string
  serverKeyFile: string
  /** A CA that signed nothing here: trusting only it must fail the handshake. */
  otherCaFile: string
}

function openssl (args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] })
}

export function makeTestPki (label: string): TestPki {
  const dir = mkdtempSync(join(tmpdir(), `fs-pki-${label}-`))
  const ca = (name: string): void => openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=fieldstream test ${name} ${label}`], dir)
  ca('ca')
  ca('other-ca')
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost'], dir)
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n')
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'server.ext'], dir)
  // Brokers that drop privileges (mosquitto) must still read them; they are throwaway.
  for (const f of ['ca.pem', 'server.pem', 'server.key', 'other-ca.pem']) chmodSync(join(dir, f), 0o644)
  chmodSync(dir, 0o755)
  return {
    dir,
    caFile: join(dir, 'ca.pem'),
    caKeyFile: join(dir, 'ca.key'),
    serverCertFile: join(dir, 'server.pem'),
    serverKeyFile: join(dir, 'server.key'),
    otherCaFile: join(dir, 'other-ca.pem'),
  }
}

/** Key and certificate in one PEM file (Kafka's `ssl.keystore.type=PEM` file layout). */
export function keyStorePem (pki: TestPki): string {
  const file = join(pki.dir, 'server-keystore.pem')
  writeFileSync(file, readFileSync(pki.serverKeyFile, 'utf8') + readFileSync(pki.serverCertFile, 'utf8'))
  return file
}
