'use strict';
// Certificates for the gRPC TLS tests, made with the `openssl` command-line tool: a CA, and
// leaf certificates it signs for "localhost" / 127.0.0.1 (usable by servers and clients).
// Everything lands in a temp dir; the returned paths and PEM texts are what the tests hand to
// sprout's config and to @grpc/grpc-js.

const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const OPENSSL = process.env.SPROUT_OPENSSL || 'openssl';

function openssl(args, cwd) {
  execFileSync(OPENSSL, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
}

// A CA in `dir` named `name`: {name, cert, key} (file paths) and issue(leaf) → leaf files.
function makeCa(dir, name) {
  const cert = path.join(dir, `${name}.crt`);
  const key = path.join(dir, `${name}.key`);
  openssl(
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${name}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    dir,
  );
  return {
    name,
    cert,
    key,
    // A leaf certificate signed by this CA: {cert, key} file paths.
    issue(leaf) {
      const leafKey = path.join(dir, `${leaf}.key`);
      const leafCsr = path.join(dir, `${leaf}.csr`);
      const leafCert = path.join(dir, `${leaf}.crt`);
      const ext = path.join(dir, `${leaf}.ext`);
      fs.writeFileSync(
        ext,
        'basicConstraints=critical,CA:FALSE\n' +
          'keyUsage=critical,digitalSignature,keyEncipherment\n' +
          'extendedKeyUsage=serverAuth,clientAuth\n' +
          'subjectAltName=DNS:localhost,IP:127.0.0.1\n',
      );
      openssl(
        ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
          '-keyout', leafKey, '-out', leafCsr, '-subj', `/CN=${leaf}`],
        dir,
      );
      openssl(
        ['x509', '-req', '-in', leafCsr, '-CA', cert, '-CAkey', key, '-CAcreateserial',
          '-out', leafCert, '-days', '2', '-extfile', ext],
        dir,
      );
      return { cert: leafCert, key: leafKey };
    },
  };
}

const read = (file) => fs.readFileSync(file);

module.exports = { makeCa, read };
