'use strict';
// A hand-made gRPC client over node's http2 module, for requests no gRPC library would send:
// a message whose compressed flag and `grpc-encoding` the test chooses (bombs, zstd, snappy,
// corrupt bytes). One unary call per HTTP/2 stream: the 5-byte message prefix (compressed flag,
// big-endian length) then the message; the answer is read from the response headers and
// trailers (grpc-status, grpc-message, grpc-status-details-bin) and the response message frames.

const http2 = require('node:http2');

// A length-prefixed gRPC message: flag byte (1: compressed), uint32 big-endian length, bytes.
function grpcFrame(message, compressed) {
  const prefix = Buffer.alloc(5);
  prefix[0] = compressed ? 1 : 0;
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message]);
}

// grpc-message is percent-encoded (gRPC's HTTP/2 protocol).
function decodeGrpcMessage(value) {
  if (value === undefined) return '';
  try {
    return decodeURIComponent(String(value));
  } catch {
    return String(value);
  }
}

// Sends one unary call and resolves with {status, message, headers, trailers, body}. Options:
// encoding (the grpc-encoding header, omitted when undefined), compressed (the flag),
// acceptEncoding, headers (extra request headers), timeoutMs, connectOptions (for http2.connect,
// e.g. TLS: {ca, cert, key, servername}).
function grpcUnaryRaw(authority, method, message, {
  encoding, compressed = encoding !== undefined && encoding !== 'identity', acceptEncoding, headers = {},
  timeoutMs = 30000, connectOptions = {},
} = {}) {
  return new Promise((resolve, reject) => {
    const session = http2.connect(authority, connectOptions);
    let settled = false;
    const finish = (err, value) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session.close();
      session.destroy();
      if (err) reject(err);
      else resolve(value);
    };
    const timer = setTimeout(() => finish(new Error(`gRPC call ${method} timed out after ${timeoutMs} ms`)), timeoutMs);
    session.on('error', (err) => finish(err));
    const requestHeaders = {
      ':method': 'POST',
      ':path': method,
      'content-type': 'application/grpc',
      te: 'trailers',
      ...headers,
    };
    if (encoding !== undefined) requestHeaders['grpc-encoding'] = encoding;
    if (acceptEncoding !== undefined) requestHeaders['grpc-accept-encoding'] = acceptEncoding;
    const stream = session.request(requestHeaders, { endStream: false });
    let responseHeaders = {};
    const chunks = [];
    stream.on('response', (h) => (responseHeaders = h));
    stream.on('data', (d) => chunks.push(d));
    stream.on('trailers', (trailers) => {
      finish(null, {
        status: Number(trailers['grpc-status'] ?? responseHeaders['grpc-status']),
        message: decodeGrpcMessage(trailers['grpc-message'] ?? responseHeaders['grpc-message']),
        headers: responseHeaders,
        trailers,
        body: Buffer.concat(chunks),
      });
    });
    stream.on('end', () => {
      // Trailers-only responses carry grpc-status in the headers.
      if (responseHeaders['grpc-status'] !== undefined) {
        finish(null, {
          status: Number(responseHeaders['grpc-status']),
          message: decodeGrpcMessage(responseHeaders['grpc-message']),
          headers: responseHeaders,
          trailers: {},
          body: Buffer.concat(chunks),
        });
      } else {
        finish(new Error(`gRPC call ${method} ended without grpc-status (HTTP ${responseHeaders[':status']})`));
      }
    });
    stream.on('error', (err) => finish(err));
    // node splits the frame into DATA frames under HTTP/2 flow control, as a real client would.
    const frame = grpcFrame(message, compressed);
    stream.end(frame);
  });
}

// gRPC status codes by name (the numeric values are fixed by the protocol).
const GrpcStatus = {
  OK: 0, CANCELLED: 1, UNKNOWN: 2, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5,
  ALREADY_EXISTS: 6, PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8, FAILED_PRECONDITION: 9,
  ABORTED: 10, OUT_OF_RANGE: 11, UNIMPLEMENTED: 12, INTERNAL: 13, UNAVAILABLE: 14, DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
};

module.exports = { grpcFrame, grpcUnaryRaw, GrpcStatus };
