// The Parley wire protocol for JavaScript: the small, stable API the browser
// client is written against, over the Emscripten build of protocol/
// (parley_protocol.js + parley_protocol.wasm, built by the wasm preset and
// served next to this file at /wasm/).
//
//   import { loadParley, ParleyError } from '/wasm/parley.js';
//   const parley = await loadParley();
//   const bytes = parley.encode({ type: 'ping', nonce: 1 });   // a view: send or copy it
//   const [packet] = parley.decode(bytes);
//
// The codec itself is parley_codec.js, generated at build time from the
// module's field lists (wasm/generate_codec.mjs): one call into wasm per
// message each way, over tapes in the module's memory (wasm/bindings.cpp).
//
// Packet objects look like the JSON of tests/vectors/packets.json: `type` is
// the kind's name, fields keep their names, enums are names, integers are
// Numbers. Every failure - a decode error, or JS input the protocol cannot
// carry - is thrown as a ParleyError whose `code` is the protocol's error
// number; nothing aborts the module, so it stays usable after any input.

import createModule from './parley_protocol.js';
import { InputError, fnv1a, makeCodec, schemaHash } from './parley_codec.js';

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

/** The module's vocabulary (bindings.cpp describe()), checked against the
 *  one parley_codec.js was generated from. */
function readVocabulary(module) {
  const heap = module.HEAPU8;
  const at = module._parley_describe();
  const bytes = heap.subarray(at, heap.indexOf(0, at));
  if (fnv1a(bytes) !== schemaHash) {
    throw new Error('parley_codec.js and parley_protocol.wasm come from different builds: publish them together');
  }
  return JSON.parse(new TextDecoder().decode(bytes));
}

function makeApi(module) {
  const vocabulary = readVocabulary(module);
  const errorNames = {};
  for (const [name, code] of Object.entries(vocabulary.errors)) errorNames[code] = name;
  const badValue = vocabulary.errors.bad_value;

  const errorFor = (code, detail) => {
    const description = vocabulary.descriptions[code] ?? 'unknown error';
    const message = detail ? `${description} (${detail})` : description;
    return new ParleyError(code, errorNames[code] ?? 'unknown', message);
  };

  const codec = makeCodec(module, vocabulary);

  // Every call goes through here. The codec reads the caller's objects in
  // JavaScript before it calls into wasm, so a getter or Proxy that throws
  // unwinds no wasm frame; its exception becomes a bad_value error. A getter
  // that calls back into the API would overwrite the tape of the call in
  // progress, so that is refused.
  let busy = false;
  const enter = (call, argument) => {
    if (busy) throw errorFor(badValue, 'parley was called from inside a getter of the packet it was reading');
    busy = true;
    try {
      return call(argument);
    } catch (e) {
      if (e instanceof InputError) throw errorFor(e.code, e.detail);
      // A trap inside wasm is a bug, never bad input: let it through as it is.
      if (e instanceof WebAssembly.RuntimeError || e instanceof ParleyError) throw e;
      throw errorFor(badValue, `reading the packet threw: ${e && e.message}`);
    } finally {
      busy = false;
    }
  };

  return Object.freeze({
    /** Encodes one packet.
     *  @returns {Uint8Array} the packet's bytes: a view of the module's
     *    memory, valid until the next call of encode, encodeBatch or decode
     *    on this instance. Send it (WebSocket.send copies) or copy it
     *    (`.slice()`) before then. @throws {ParleyError} */
    encode(packet) {
      return enter(codec.encode, packet);
    },

    /** Encodes packets as one batch packet, in order.
     *  @returns {Uint8Array} a view valid until the next call, as encode's. @throws {ParleyError} */
    encodeBatch(packets) {
      return enter(codec.encodeBatch, packets);
    },

    /** Decodes one WebSocket message: a packet or a batch.
     *  @param {Uint8Array|ArrayBuffer} bytes (any view, also one encode returned)
     *  @returns {object[]} the packets, in order: new plain objects, the
     *    caller's to keep. @throws {ParleyError} */
    decode(bytes) {
      if (bytes instanceof ArrayBuffer) bytes = new Uint8Array(bytes);
      if (!(bytes instanceof Uint8Array)) throw errorFor(badValue, 'decode expects a Uint8Array');
      return enter(codec.decode, bytes);
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
      return { linear: module._parley_memory_linear(), allocated: module._parley_memory_allocated() };
    },
  });
}
