'use strict';
// Throw-away certificates for the TLS tests, made with the `openssl` command (Debian package
// `openssl`): a CA, a server certificate for 127.0.0.1 and localhost signed by it, a client
// certificate signed by it, and a second CA with a client of its own (a stranger to the first).
// Nothing is committed; every key lives in the test's temp dir.

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const OPENSSL = process.env.SPROUT_OPENSSL || 'openssl';

function openssl(args) {
  try {
    execFileSync(OPENSSL, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const stderr = err.stderr ? err.stderr.toString() : '';
    throw new Error(`${OPENSSL} ${args.join(' ')} failed: ${err.message}\n${stderr}`);
  }
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function makeCa(dir, name) {
  const cert = path.join(dir, `${name}.crt`);
  const key = path.join(dir, `${name}.key`);
  openssl(['req', '-x509', ...EC_KEY, '-days', '2', '-subj', `/CN=${name}`, '-keyout', key, '-out', cert]);
  return { cert, key };
}

// A certificate signed by `ca`; `server` adds the loopback names and serverAuth.
function makeLeaf(dir, name, ca, { cn = name, server = false } = {}) {
  const cert = path.join(dir, `${name}.crt`);
  const key = path.join(dir, `${name}.key`);
  const csr = path.join(dir, `${name}.csr`);
  const ext = path.join(dir, `${name}.ext`);
  fs.writeFileSync(
    ext,
    server ? 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' : 'extendedKeyUsage=clientAuth\n',
  );
  openssl(['req', ...EC_KEY, '-subj', `/CN=${cn}`, '-keyout', key, '-out', csr]);
  openssl(['x509', '-req', '-days', '2', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-extfile', ext, '-out', cert]);
  return { cert, key };
}

// Makes the whole set in `dir`; every entry has `cert` and `key` paths, and `pem(entry)` reads
// them for node's TLS options.
function makeCerts(dir) {
  const ca = makeCa(dir, 'ca');
  const server = makeLeaf(dir, 'server', ca, { server: true });
  const client = makeLeaf(dir, 'client', ca);
  const otherCa = makeCa(dir, 'other-ca');
  const stranger = makeLeaf(dir, 'stranger', otherCa);
  return { dir, ca, server, client, otherCa, stranger };
}

// {cert, key} file contents of an entry, and the CA's certificate as `ca`.
function pem(entry) {
  return { cert: fs.readFileSync(entry.cert), key: fs.readFileSync(entry.key) };
}

module.exports = { makeCa, makeCerts, makeLeaf, pem };
