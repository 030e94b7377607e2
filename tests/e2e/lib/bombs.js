'use strict';
// Decompression bombs: small bodies that decode to gigabytes of zeros, in every encoding the
// receivers accept. Each is a valid stream of its format (checksums included where the format
// has them), so a decoder can only refuse it for its size.
//
// - gzip / zlib ("deflate"): one raw deflate stream of `size` zeros, made once with node's zlib
//   (streaming, level 9), framed as a gzip member (CRC-32, ISIZE) and as a zlib stream (Adler-32).
// - zstd: a hand-built frame of RLE blocks (4 bytes per 128 KiB of zeros).
// - snappy: the block format (varint length, a literal, then 64-byte copies at offset 1) and the
//   framing format (stream identifier, compressed chunks of 64 KiB with a masked CRC-32C), which
//   is what the Collector's gRPC "snappy" compressor and HTTP x-snappy-framed use. Snappy's ratio
//   is at most ~21:1, so its bombs are sized by the compressed bytes instead.

const zlib = require('node:zlib');

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

// A raw deflate stream of `size` zeros.
function deflateRawZeros(size) {
  return new Promise((resolve, reject) => {
    const chunk = Buffer.alloc(16 * MiB);
    const out = [];
    const z = zlib.createDeflateRaw({ level: 9 });
    z.on('data', (d) => out.push(d));
    z.on('error', reject);
    z.on('end', () => resolve(Buffer.concat(out)));
    let written = 0;
    const pump = () => {
      while (written < size) {
        const n = Math.min(chunk.length, size - written);
        written += n;
        if (!z.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
          z.once('drain', pump);
          return;
        }
      }
      z.end();
    };
    pump();
  });
}

// CRC-32 (gzip's) of `size` zeros.
function crc32Zeros(size) {
  const chunk = Buffer.alloc(16 * MiB);
  let crc = 0;
  for (let done = 0; done < size; done += chunk.length) {
    crc = zlib.crc32(chunk.subarray(0, Math.min(chunk.length, size - done)), crc);
  }
  return crc >>> 0;
}

function gzipFrame(raw, size) {
  const header = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc32Zeros(size), 0);
  trailer.writeUInt32LE(size % 2 ** 32, 4);
  return Buffer.concat([header, raw, trailer]);
}

function zlibFrame(raw, size) {
  // Adler-32 of n zeros: a = 1, b = n mod 65521.
  const adler = (((size % 65521) << 16) | 1) >>> 0;
  const trailer = Buffer.alloc(4);
  trailer.writeUInt32BE(adler, 0);
  return Buffer.concat([Buffer.from([0x78, 0x01]), raw, trailer]);
}

// gzip and zlib bombs of `size` zeros (default 3 GiB: about 3 MiB each).
async function deflateBombs(size = 3 * GiB) {
  const raw = await deflateRawZeros(size);
  return { gzip: gzipFrame(raw, size), zlib: zlibFrame(raw, size) };
}

// A zstd frame of `size` zeros (a multiple of 128 KiB) in RLE blocks.
function zstdBomb(size = 3 * GiB) {
  const block = 128 * 1024;
  const blocks = Math.ceil(size / block);
  const out = Buffer.alloc(6 + blocks * 4);
  out.writeUInt32LE(0xfd2fb528, 0); // magic
  out[4] = 0x00; // frame header descriptor: no content size, not single-segment, no checksum
  out[5] = 7 << 3; // window descriptor: 2^(10+7) = 128 KiB
  for (let i = 0; i < blocks; i++) {
    const last = i === blocks - 1 ? 1 : 0;
    const header = (block << 3) | (1 << 1) | last; // RLE block of `block` bytes
    const at = 6 + i * 4;
    out[at] = header & 0xff;
    out[at + 1] = (header >> 8) & 0xff;
    out[at + 2] = (header >> 16) & 0xff;
    out[at + 3] = 0; // the repeated byte
  }
  return out;
}

function varint(n) {
  const bytes = [];
  while (n >= 0x80) {
    bytes.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  bytes.push(n);
  return Buffer.from(bytes);
}

// The snappy block encoding of `size` zeros: a one-byte literal, then copies of 64 bytes (and
// one shorter) at offset 1.
function snappyBlockZeros(size) {
  const parts = [varint(size), Buffer.from([0x00, 0x00])]; // literal of length 1: a zero
  let left = size - 1;
  const full = Buffer.from([((64 - 1) << 2) | 2, 0x01, 0x00]);
  const copies = Math.floor(left / 64);
  const body = Buffer.alloc(copies * 3);
  for (let i = 0; i < copies; i++) full.copy(body, i * 3);
  parts.push(body);
  left -= copies * 64;
  if (left > 0) parts.push(Buffer.from([((left - 1) << 2) | 2, 0x01, 0x00]));
  return Buffer.concat(parts);
}

// A snappy block bomb of `size` zeros (64 MiB: about 3 MiB).
function snappyBlockBomb(size = 64 * MiB) {
  return snappyBlockZeros(size);
}

let crc32cTable;
function crc32c(buf) {
  if (!crc32cTable) {
    crc32cTable = new Int32Array(256);
    for (let i = 0; i < 256; i++) {
      let c = i;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
      crc32cTable[i] = c;
    }
  }
  let crc = 0xffffffff;
  for (const b of buf) crc = crc32cTable[(crc ^ b) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function maskedCrc(buf) {
  const c = crc32c(buf);
  return (((c >>> 15) | (c << 17)) + 0xa282ead8) >>> 0;
}

// A snappy framing-format stream whose chunks each hold 64 KiB of zeros; `chunks` of them
// (1000: about 3 MiB compressed, 62.5 MiB decoded).
function snappyFramedBomb(chunks = 1000) {
  const identifier = Buffer.from([0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59]);
  const block = snappyBlockZeros(65536);
  const chunk = Buffer.alloc(4 + 4 + block.length);
  chunk[0] = 0x00; // compressed data
  chunk.writeUIntLE(4 + block.length, 1, 3);
  chunk.writeUInt32LE(maskedCrc(Buffer.alloc(65536)), 4);
  block.copy(chunk, 8);
  return Buffer.concat([identifier, ...Array(chunks).fill(chunk)]);
}

// A well-formed snappy framing-format stream of `data` (one chunk per 64 KiB, stored
// uncompressed: valid, and all a test of the decoder needs).
function snappyFramed(data) {
  const parts = [Buffer.from([0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59])];
  for (let at = 0; at < data.length; at += 65536) {
    const piece = data.subarray(at, at + 65536);
    const header = Buffer.alloc(8);
    header[0] = 0x01; // uncompressed data
    header.writeUIntLE(4 + piece.length, 1, 3);
    header.writeUInt32LE(maskedCrc(piece), 4);
    parts.push(header, piece);
  }
  return Buffer.concat(parts);
}

// A well-formed zstd frame holding `data` in one raw block (valid zstd; no compression needed).
// Frame header: single segment, content size in 1 byte (< 256) or 2 bytes (size - 256).
function zstdRaw(data) {
  if (data.length >= 65536 + 256) throw new Error('zstdRaw: at most 65791 bytes');
  const magic = Buffer.alloc(4);
  magic.writeUInt32LE(0xfd2fb528, 0);
  let header;
  if (data.length < 256) {
    header = Buffer.from([0x20, data.length]);
  } else {
    header = Buffer.alloc(3);
    header[0] = 0x60;
    header.writeUInt16LE(data.length - 256, 1);
  }
  const block = (data.length << 3) | 1; // last block, raw
  return Buffer.concat([magic, header, Buffer.from([block & 0xff, (block >> 8) & 0xff, (block >> 16) & 0xff]), data]);
}

module.exports = {
  GiB,
  MiB,
  deflateBombs,
  snappyBlockBomb,
  snappyFramed,
  snappyFramedBomb,
  zstdBomb,
  zstdRaw,
};
