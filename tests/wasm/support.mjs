// Shared helpers of the wasm node tests: loading the build, the golden
// vectors, hex, CRC32 and the native helper (parley-interop).
//
// CTest sets PARLEY_SOURCE_DIR, PARLEY_WASM_DIR and PARLEY_INTEROP
// (tests/wasm/CMakeLists.txt); run by hand, the defaults are the checkout's
// build/ tree:  node --test tests/wasm/
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const sourceDir = process.env.PARLEY_SOURCE_DIR ?? fileURLToPath(new URL('../..', import.meta.url));
export const wasmDir = process.env.PARLEY_WASM_DIR ?? path.join(sourceDir, 'build/wasm');
const interopPath = process.env.PARLEY_INTEROP ?? path.join(sourceDir, 'build/tests/wasm/parley-interop');

/** The API module (build/wasm/parley.js) and a loaded instance. */
export async function loadBuild() {
  const entry = path.join(wasmDir, 'parley.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: build it with \`make wasm\``);
  const api = await import(pathToFileURL(entry).href);
  return { ...api, parley: await api.loadParley() };
}

export function readVectors() {
  return JSON.parse(readFileSync(path.join(sourceDir, 'tests/vectors/packets.json'), 'utf8'));
}

export function fromHex(hex) {
  return Uint8Array.from(hex.match(/../g) ?? [], (byte) => parseInt(byte, 16));
}

export function toHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** CRC32 (zlib's) of bytes[begin, end). */
export function crc32(bytes, begin = 0, end = bytes.length) {
  let c = 0xffffffff;
  for (let i = begin; i < end; i++) c = crcTable[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Rewrites the CRC trailer of a single (non-batch) packet so that a mutated
 *  payload gets past the checksum and reaches the parser. */
export function fixChecksum(bytes) {
  if (bytes.length < 4) return bytes;
  const out = bytes.slice();
  const crc = crc32(out, 0, out.length - 4);
  new DataView(out.buffer).setUint32(out.length - 4, crc, true);
  return out;
}

/** Runs parley-interop with `args`, feeding it `lines`; returns its output
 *  lines parsed as JSON. */
export function interop(args, lines = []) {
  if (!existsSync(interopPath)) throw new Error(`${interopPath} is missing: build the native tree (make build)`);
  const run = spawnSync(interopPath, args, {
    input: lines.length ? lines.join('\n') + '\n' : '',
    maxBuffer: 1 << 30,
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`parley-interop ${args.join(' ')} failed (${run.status}): ${run.stderr}`);
  return run.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line));
}

/** A small deterministic PRNG (mulberry32), so failures reproduce. */
export function random(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  next.int = (n) => Math.floor(next() * n);
  next.pick = (list) => list[next.int(list.length)];
  return next;
}
