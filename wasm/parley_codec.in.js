// The packet codec of parley.js: JS packet objects to and from the tapes of
// wasm/bindings.cpp (its file-top comment describes them).
//
// wasm/generate_codec.mjs turns this template into parley_codec.js at build
// time: where the marker below stands it writes, for every packet kind and
// nested record of the module's field lists, one function that writes an
// object's fields onto the tape and one that builds the object back from the
// tape with a single object literal. Generated code is the point: V8 builds a
// literal of fixed shape some thirty times faster than an object filled
// through computed keys, and the page's Content-Security-Policy forbids
// making such functions at run time (no eval, no new Function).
//
// ENCODE writes straight into the module's tape and text areas (growing them
// through the module when they are full) and makes one call; the packet's
// bytes come back as a view of the module's output area (see parley.js for
// its lifetime). Each value is checked as it is written, so that an error
// names its field; the module checks the tape again and applies the wire
// rules.
//
// DECODE copies the message into the input area and makes one call, which
// checks everything and fills the tape and text area; then one TextDecoder
// call turns all the text into one string, each string field is a slice of
// it, and the objects are built from the tape.

/** FNV-1a of the module's vocabulary this file was generated from. */
export const schemaHash = '@SCHEMA_HASH@';

/** FNV-1a (32 bits, hex) of bytes[0, n): how parley.js checks that this file
 *  and the module it loaded were built together. */
export function fnv1a(bytes) {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return (h >>> 0).toString(16);
}

/** Why a JS value could not become a packet: the protocol's error code and,
 *  for mistakes in the input, what was wrong and where ("send_message.text").
 *  Thrown inside the codec; parley.js turns it into a ParleyError. */
export class InputError {
  constructor(code, what = '', where = '') {
    this.code = code;
    this.what = what;
    this.where = where;
  }

  /** Called on the way out of each enclosing field, so the path is only ever
   *  built for the one value that failed. */
  enclose(name) {
    if (!name) return;
    if (!this.where) this.where = name;
    else if (this.where[0] === '[') this.where = name + this.where;
    else this.where = `${name}.${this.where}`;
  }

  get detail() {
    if (!this.what) return undefined;
    return this.where ? `${this.where}: ${this.what}` : this.what;
  }
}

// Word offsets into the module's io_table, and its areas (bindings.cpp).
const IO_TAPE = 0;
const IO_TAPE_CAPACITY = 1;
const IO_TEXT = 2;
const IO_TEXT_CAPACITY = 3;
const IO_INPUT = 4;
const IO_INPUT_CAPACITY = 5;
const IO_OUTPUT = 6;
const IO_OUTPUT_SIZE = 7;
const IO_TAPE_SIZE = 8;
const IO_TEXT_SIZE = 9;
const AREA_TAPE = 0;
const AREA_TEXT = 1;
const AREA_INPUT = 2;

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const INTEGER = 'an integer from 0 to 2^53-1';
// Strings up to this many units are copied by a loop while they are ASCII;
// longer ones, and any that is not, go through TextEncoder.encodeInto.
const SHORT_TEXT = 64;
// Enum and kind names are short; a longer string names nothing.
const MAX_NAME = 32;

const typeNames = {
  boolean: 'a boolean', number: 'a number', string: 'a string', bigint: 'a bigint',
  symbol: 'a symbol', function: 'a function', object: 'an object',
};

function describeType(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeNames[typeof v];
}

function enclose(e, name) {
  if (e instanceof InputError) e.enclose(name);
  return e;
}

/** Strings with a lone surrogate: an encoder would replace or mis-pair them. */
function isWellFormed(s) {
  if (typeof s.isWellFormed === 'function') return s.isWellFormed();
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0xdc00 && c <= 0xdfff) return false;
    if (c >= 0xd800 && c <= 0xdbff) {
      c = s.charCodeAt(i + 1);
      if (!(c >= 0xdc00 && c <= 0xdfff)) return false;
      i++;
    }
  }
  return true;
}

/**
 * The codec over one loaded module.
 * @param module the Emscripten module (its exports and HEAPU8)
 * @param vocabulary what the module's parley_describe() says
 * @returns {{encode(object): Uint8Array, encodeBatch(object[]): Uint8Array, decode(Uint8Array): object[]}}
 *   Each throws an InputError.
 */
export function makeCodec(module, vocabulary) {
  const E = vocabulary.errors;
  const limits = vocabulary.limits;
  const encoder = new TextEncoder();
  // ignoreBOM: a text that starts with U+FEFF keeps it.
  const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  const io = module._parley_io() >>> 2;
  const maxPacketBytes = limits.max_packet_bytes;
  // Emscripten's export wrappers replace themselves with the wasm function on
  // their first call; make that call (both refuse empty input) and keep the
  // functions, so a message costs one direct call into wasm.
  module._parley_encode(0, 0, 0);
  module._parley_decode(0);
  const encodeCall = module._parley_encode;
  const decodeCall = module._parley_decode;

  // Views of the module's memory, made again whenever it has grown: growing
  // detaches the old buffer, which leaves every view of it empty.
  let U8;
  let U32;
  let F;
  const renew = () => {
    const buffer = module.HEAPU8.buffer;
    U8 = new Uint8Array(buffer);
    U32 = new Uint32Array(buffer);
    F = new Float64Array(buffer);
  };
  const views = () => {
    if (U8.length === 0) renew();
  };
  renew();
  const reserve = (area, size) => {
    const status = module._parley_reserve(area, size);
    views();
    if (status !== 0) throw new InputError(status);
  };

  // ---- encode: the tape is F[tapeStart, k), the text U8[textStart, t) --------

  let k = 0;
  let kEnd = 0;
  let tapeStart = 0;
  let t = 0;
  let tEnd = 0;
  let textStart = 0;

  const begin = () => {
    views();
    tapeStart = k = U32[io + IO_TAPE] >>> 3;
    kEnd = tapeStart + U32[io + IO_TAPE_CAPACITY];
    textStart = t = U32[io + IO_TEXT];
    tEnd = textStart + U32[io + IO_TEXT_CAPACITY];
  };

  const growTape = () => {
    const used = k - tapeStart;
    reserve(AREA_TAPE, 2 * used + 256);
    tapeStart = U32[io + IO_TAPE] >>> 3;
    k = tapeStart + used;
    kEnd = tapeStart + U32[io + IO_TAPE_CAPACITY];
  };

  const growText = (more) => {
    const used = t - textStart;
    reserve(AREA_TEXT, 2 * (used + more));
    textStart = U32[io + IO_TEXT];
    t = textStart + used;
    tEnd = textStart + U32[io + IO_TEXT_CAPACITY];
  };

  const put = (v) => {
    if (k === kEnd) growTape();
    F[k++] = v;
  };

  const failType = (v, expected, where) => {
    if (v === undefined) throw new InputError(E.bad_value, 'missing', where);
    throw new InputError(E.bad_value, `expected ${expected}, got ${describeType(v)}`, where);
  };

  const putInt = (v, max, where) => {
    if (typeof v !== 'number') failType(v, INTEGER, where);
    if (!(v >= 0 && v <= MAX_SAFE && Math.floor(v) === v)) throw new InputError(E.bad_value, `expected ${INTEGER}`, where);
    if (v > max) throw new InputError(E.bad_value, `larger than ${max}`, where);
    put(v);
  };

  const putBool = (v, where) => {
    if (v === true) put(1);
    else if (v === false) put(0);
    else failType(v, 'true or false', where);
  };

  const putName = (v, values, where) => {
    if (typeof v !== 'string') failType(v, 'a name', where);
    const value = values.get(v);
    if (value === undefined) throw new InputError(E.bad_value, v.length > MAX_NAME ? 'unknown name' : `unknown name '${v}'`, where);
    put(value);
  };

  const putText = (v, max, where) => {
    if (typeof v !== 'string') failType(v, 'a string', where);
    // UTF-8 takes at least one byte per UTF-16 unit, so a longer string is
    // refused before it is converted, and the conversion needs at most three
    // bytes per unit.
    const n = v.length;
    if (n > max) throw new InputError(E.field_too_long, `longer than ${max} bytes of UTF-8`, where);
    if (t + 3 * n > tEnd) growText(3 * n);
    let i = 0;
    if (n <= SHORT_TEXT) {
      for (; i < n; i++) {
        const c = v.charCodeAt(i);
        if (c > 127) break;
        U8[t + i] = c;
      }
    }
    if (i !== n) {
      if (!isWellFormed(v)) throw new InputError(E.bad_utf8, 'contains a lone UTF-16 surrogate', where);
      i = encoder.encodeInto(v, U8.subarray(t, t + 3 * n)).written;
      if (i > max) throw new InputError(E.field_too_long, `longer than ${max} bytes of UTF-8`, where);
    }
    t += i;
    put(i);
  };

  const putRecord = (v, write, where) => {
    if (v === null || typeof v !== 'object') failType(v, 'an object', where);
    try {
      write(v);
    } catch (e) {
      throw enclose(e, where);
    }
  };

  const putList = (v, max, writeItem, where) => {
    if (!Array.isArray(v)) failType(v, 'an array', where);
    // The count is checked before anything is read: a sparse array may
    // claim billions of items.
    const n = v.length;
    if (n > max) throw new InputError(E.too_many_items, `more than ${max} items`, where);
    put(n);
    for (let i = 0; i < n; i++) {
      try {
        writeItem(v[i]);
      } catch (e) {
        throw enclose(enclose(e, `[${i}]`), where);
      }
    }
  };

  // ---- decode: the tape is read from F[k], strings are slices of `text` ------

  // Views of the first `size` bytes of the text area, kept for small sizes
  // (most messages) so that decoding one makes no view of its own; they go
  // when the area moves or the memory grows.
  let textViews = [];
  let textViewsOf = null;
  let textViewsAt = -1;
  const textView = (size) => {
    const at = U32[io + IO_TEXT];
    if (size >= 512) return U8.subarray(at, at + size);
    if (textViewsOf !== U8 || textViewsAt !== at) {
      textViews = [];
      textViewsOf = U8;
      textViewsAt = at;
    }
    return (textViews[size] ??= U8.subarray(at, at + size));
  };

  let text = '';
  let textAt = 0;

  const getText = () => {
    const end = F[k++];
    if (end < 0) {
      // A long string, decoded where the module keeps it.
      const at = -end;
      return decoder.decode(U8.subarray(at, at + F[k++]));
    }
    const s = text.slice(textAt, end);
    textAt = end;
    return s;
  };

  const getList = (read) => {
    const n = F[k++];
    const out = [];
    for (let i = 0; i < n; i++) out.push(read());
    return out;
  };

  const getInts = () => {
    const n = F[k++];
    const out = [];
    for (let i = 0; i < n; i++) out.push(F[k++]);
    return out;
  };

  /* @codecs@ */

  // ---- the three calls ---------------------------------------------------------

  const writePacket = (p) => {
    if (p === null || typeof p !== 'object') throw new InputError(E.bad_value, 'expected a packet object');
    const type = p.type;
    const kind = typeof type === 'string' ? kinds.get(type) : undefined;
    if (kind === undefined) {
      let what = 'expected the name of a packet kind';
      if (typeof type === 'string') what = type.length > MAX_NAME ? 'no packet kind has that name' : `no packet kind is called '${type}'`;
      throw new InputError(E.unknown_kind, what, 'type');
    }
    put(kind.byte);
    try {
      kind.write(p);
    } catch (e) {
      throw enclose(e, kind.name);
    }
  };

  const finish = (batch) => {
    const status = encodeCall(k - tapeStart, t - textStart, batch ? 1 : 0);
    views();
    if (status !== 0) throw new InputError(status);
    const at = U32[io + IO_OUTPUT];
    return U8.subarray(at, at + U32[io + IO_OUTPUT_SIZE]);
  };

  const encode = (p) => {
    begin();
    put(1);
    writePacket(p);
    return finish(false);
  };

  const encodeBatch = (packets) => {
    if (!Array.isArray(packets)) throw new InputError(E.bad_value, 'expected an array of packet objects', 'packets');
    const n = packets.length;
    if (n === 0) throw new InputError(E.empty_batch);
    if (n > limits.max_batch_packets) throw new InputError(E.too_many_items);
    begin();
    put(n);
    for (let i = 0; i < n; i++) {
      try {
        writePacket(packets[i]);
      } catch (e) {
        throw enclose(enclose(e, `[${i}]`), 'packets');
      }
    }
    return finish(true);
  };

  const decode = (bytes) => {
    const n = bytes.length;
    // Longer input is refused before it is copied: a caller's mistake must
    // not grow the heap.
    if (n > maxPacketBytes) throw new InputError(E.too_large);
    views();
    if (n > U32[io + IO_INPUT_CAPACITY]) {
      // A view of this module's memory (an encode result) would be detached
      // by the growth: copy it out first.
      if (bytes.buffer === U8.buffer) bytes = bytes.slice();
      reserve(AREA_INPUT, n);
    }
    U8.set(bytes, U32[io + IO_INPUT]);
    const status = decodeCall(n);
    views();
    if (status !== 0) throw new InputError(status);
    const textSize = U32[io + IO_TEXT_SIZE];
    text = textSize === 0 ? '' : decoder.decode(textView(textSize));
    textAt = 0;
    k = U32[io + IO_TAPE] >>> 3;
    const count = F[k++];
    const out = [];
    for (let i = 0; i < count; i++) out.push(readers[F[k++]]());
    text = '';
    return out;
  };

  reserve(AREA_TAPE, 4096);
  reserve(AREA_TEXT, 16384);
  reserve(AREA_INPUT, 16384);
  return { encode, encodeBatch, decode };
}
