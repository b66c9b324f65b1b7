// The Parley wire protocol for JavaScript: the small, stable API the browser
// client is written against, over the Emscripten build of protocol/
// (parley_protocol.js + parley_protocol.wasm, built by the wasm preset and
// served next to this file at /wasm/).
//
//   import { loadParley, ParleyError } from '/wasm/parley.js';
//   const parley = await loadParley();
//   const bytes = parley.encode({ type: 'ping', nonce: 1 });
//   const [packet] = parley.decode(bytes);
//
// Packet objects look like the JSON of tests/vectors/packets.json: `type` is
// the kind's name, fields keep their names, enums are names, integers are
// Numbers. Every failure - a decode error, or JS input the protocol cannot
// carry - is thrown as a ParleyError whose `code` is the protocol's error
// number; nothing aborts the module, so it stays usable after any input.

import createModule from './parley_protocol.js';

/** A protocol error: `code` is the wire number (1-17 decode errors),
 *  `name` its snake_case name, `message` the description, followed for bad
 *  JS input by the field at fault and what was wrong with it. */
export class ParleyError extends Error {
  constructor(code, name, message) {
    super(message);
    this.code = code;
    this.name = name;
  }
}

/**
 * Instantiates the module and returns the API object.
 * @param {object} [options] passed to the Emscripten factory, e.g.
 *   { wasmBinary } (the bytes of parley_protocol.wasm). Browsers fetch the
 *   file next to this one by default; in node, where this Emscripten cannot
 *   fetch, it is read from disk unless given.
 */
export async function loadParley(options = {}) {
  const settings = { ...options };
  if (!settings.wasmBinary && !settings.instantiateWasm && isNode()) {
    const { readFile } = await import('node:fs/promises');
    settings.wasmBinary = await readFile(new URL('./parley_protocol.wasm', import.meta.url));
  }
  return makeApi(await createModule(settings));
}

function isNode() {
  return typeof process === 'object' && typeof process.versions?.node === 'string' && typeof window === 'undefined';
}

function makeApi(module) {
  const vocabulary = module.describe();
  const errorNames = {};
  for (const [name, code] of Object.entries(vocabulary.errors)) errorNames[code] = name;
  const badValue = vocabulary.errors.bad_value;

  const errorFor = (code, detail) => {
    const description = vocabulary.descriptions[code] ?? 'unknown error';
    const message = detail ? `${description} (${detail})` : description;
    return new ParleyError(code, errorNames[code] ?? 'unknown', message);
  };

  // Every call into the module goes through here. The glue only reads plain
  // data, but a getter or Proxy in the caller's object may still throw while
  // wasm frames are on the stack, and such an exception skips the C++
  // epilogues: the wasm stack pointer is put back before the exception is
  // reported as bad input. A getter that calls back into the API would share
  // the module's scratch buffers with the call in progress, so that is
  // refused.
  let busy = false;
  const enter = (call) => {
    if (busy) throw errorFor(badValue, 'parley was called from inside a getter of the packet it was reading');
    busy = true;
    const top = module.stackSave();
    try {
      return call();
    } catch (e) {
      // A trap inside wasm is a bug, never bad input: let it through as it is.
      if (e instanceof WebAssembly.RuntimeError) throw e;
      module.stackRestore(top);
      if (e instanceof ParleyError) throw e;
      throw errorFor(badValue, `reading the packet threw: ${e && e.message}`);
    } finally {
      busy = false;
    }
  };

  const check = (result, isSuccess) => {
    if (isSuccess(result)) return result;
    throw errorFor(result.code, result.detail);
  };
  const isBytes = (r) => r instanceof Uint8Array;

  return Object.freeze({
    /** @returns {Uint8Array} the packet's bytes. @throws {ParleyError} */
    encode(packet) {
      return check(enter(() => module.encode_packet(packet)), isBytes);
    },

    /** @returns {Uint8Array} one batch packet holding every packet, in order. @throws {ParleyError} */
    encodeBatch(packets) {
      return check(enter(() => module.encode_packets(packets)), isBytes);
    },

    /** Decodes one WebSocket message: a packet or a batch.
     *  @param {Uint8Array|ArrayBuffer} bytes
     *  @returns {object[]} the packets, in order. @throws {ParleyError} */
    decode(bytes) {
      if (bytes instanceof ArrayBuffer) bytes = new Uint8Array(bytes);
      if (!(bytes instanceof Uint8Array)) throw errorFor(badValue, 'decode expects a Uint8Array');
      return check(enter(() => module.decode_message(bytes, bytes.length)), Array.isArray);
    },

    kinds: Object.freeze(vocabulary.kinds),
    reactions: Object.freeze(vocabulary.reactions),
    /** Every enumeration's names in value order, by enum name:
     *  enums.room_role = ['member', 'moderator', 'owner']. */
    enums: Object.freeze(Object.fromEntries(
      Object.entries(vocabulary.enums).map(([name, values]) => [name, Object.freeze(values)]))),
    errors: Object.freeze(vocabulary.errors),
    errorNames: Object.freeze(errorNames),
    limits: Object.freeze(vocabulary.limits),

    /** { linear, allocated }: bytes of the module's memory and of its heap in
     *  use; for leak checks and metrics. */
    memoryUsage() {
      return module.memory_usage();
    },
  });
}
