// Writes parley_codec.js: wasm/parley_codec.in.js with, at its marker, the
// write and read function of every packet kind and nested record, made from
// the field lists the freshly linked module describes (parley_describe), so
// the JS codec and the wasm module always come from the same packets.hpp.
//
//   node wasm/generate_codec.mjs MODULE_JS TEMPLATE OUTPUT
//
// (run by wasm/CMakeLists.txt after each link). For send_message it writes
//   function write_send_message(p) {
//     putInt(p.room_id, 4294967295, 'room_id'); ... putText(p.text, 4000, 'text'); ...
//   }
//   function read_send_message() {
//     return { type: 'send_message', room_id: F[k++], ..., text: getText(), resend: F[k++] !== 0 };
//   }
import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [modulePath, templatePath, outputPath] = process.argv.slice(2);
if (!outputPath) {
  console.error('usage: node generate_codec.mjs MODULE_JS TEMPLATE OUTPUT');
  process.exit(2);
}

const { default: createModule } = await import(pathToFileURL(path.resolve(modulePath)).href);
const wasmBinary = await readFile(modulePath.replace(/\.js$/, '.wasm'));
const module = await createModule({ wasmBinary });
const at = module._parley_describe();
const bytes = module.HEAPU8.subarray(at, module.HEAPU8.indexOf(0, at));
const vocabulary = JSON.parse(new TextDecoder().decode(bytes));
const template = await readFile(templatePath, 'utf8');

/** The FNV-1a of parley_codec.in.js's fnv1a(), which parley.js checks the loaded module's vocabulary against. */
function fnv1a(data) {
  let h = 0x811c9dc5;
  for (let i = 0; i < data.length; i++) h = Math.imul(h ^ data[i], 0x01000193);
  return (h >>> 0).toString(16);
}

const lines = [];
const records = new Map(); // JSON of a record's fields -> its function's suffix
const itemWriters = new Map(); // JSON of a list item -> its writer's name
const enums = new Set();
const quote = (s) => `'${s}'`;
const key = (name) => (/^[A-Za-z_$][\w$]*$/.test(name) ? name : JSON.stringify(name));

/** The suffix of the functions of a nested record, generating them on first use. */
function recordFunctions(fields, hint) {
  const signature = JSON.stringify(fields);
  if (!records.has(signature)) {
    let suffix = `record_${hint}`;
    while ([...records.values()].includes(suffix)) suffix += '_';
    records.set(signature, suffix);
    emitFunctions(suffix, fields, null);
  }
  return records.get(signature);
}

/** The statement that writes value `v` (a JS expression) of field `f`. */
function writer(f, v, where) {
  switch (f.type) {
    case 'integer': return `putInt(${v}, ${f.max}, ${where})`;
    case 'bool': return `putBool(${v}, ${where})`;
    case 'enum': enums.add(f.enum); return `putName(${v}, values_${f.enum}, ${where})`;
    case 'text': return `putText(${v}, ${f.max}, ${where})`;
    case 'record': return `putRecord(${v}, write_${recordFunctions(f.fields, f.name)}, ${where})`;
    case 'list': return `putList(${v}, ${f.max}, ${itemWriter(f)}, ${where})`;
    default: throw new Error(`unknown field type ${f.type}`);
  }
}

/** The name of a function that writes one item of list field `f`. */
function itemWriter(f) {
  const item = { ...f.item, name: f.name };
  const signature = JSON.stringify(f.item);
  if (!itemWriters.has(signature)) {
    const name = `write_item_${itemWriters.size}`;
    itemWriters.set(signature, name);
    lines.push(`  const ${name} = (v) => ${writer(item, 'v', "''")};`);
  }
  return itemWriters.get(signature);
}

/** The expression that reads field `f` from the tape. */
function reader(f) {
  switch (f.type) {
    case 'integer': return 'F[k++]';
    case 'bool': return 'F[k++] !== 0';
    case 'enum': enums.add(f.enum); return `names_${f.enum}[F[k++]]`;
    case 'text': return 'getText()';
    case 'record': return `read_${recordFunctions(f.fields, f.name)}()`;
    case 'list':
      if (f.item.type === 'integer') return 'getInts()';
      if (f.item.type !== 'record') throw new Error(`lists of ${f.item.type} are not supported`);
      return `getList(read_${recordFunctions(f.item.fields, f.name)})`;
    default: throw new Error(`unknown field type ${f.type}`);
  }
}

function emitFunctions(suffix, fields, type) {
  // Nested records first, so that every function is declared before use
  // reads well (function declarations would be hoisted anyway).
  const writes = fields.map((f) => `    ${writer(f, `p.${f.name}`, quote(f.name))};`);
  const reads = fields.map((f) => `${key(f.name)}: ${reader(f)}`);
  if (type !== null) reads.unshift(`type: ${quote(type)}`);
  lines.push(`  function write_${suffix}(p) {`, ...writes, '  }');
  lines.push(`  function read_${suffix}() {`, `    return { ${reads.join(', ')} };`, '  }');
}

for (const p of vocabulary.packets) emitFunctions(p.name, p.fields, p.name);

const tables = [];
for (const name of enums) {
  tables.push(`  const names_${name} = vocabulary.enums.${name};`);
  tables.push(`  const values_${name} = new Map(names_${name}.map((n, i) => [n, i]));`);
}
tables.push('  const kinds = new Map([');
for (const p of vocabulary.packets) tables.push(`    ['${p.name}', { byte: ${p.kind}, name: '${p.name}', write: write_${p.name} }],`);
tables.push('  ]);');
tables.push('  const readers = [];');
for (const p of vocabulary.packets) tables.push(`  readers[${p.kind}] = read_${p.name};`);

const generated = [
  '  // ---- generated by wasm/generate_codec.mjs from the module\'s field lists ----',
  ...tables,
  ...lines,
].join('\n');

const marker = '  /* @codecs@ */';
if (!template.includes(marker) || !template.includes('@SCHEMA_HASH@')) throw new Error(`${templatePath} lacks its markers`);
const header = '// Generated by wasm/generate_codec.mjs from parley_codec.in.js and the\n' +
  "// module's field lists; edit those, not this file.\n";
const out = header + template.replace('@SCHEMA_HASH@', fnv1a(bytes)).replace(marker, generated);
await writeFile(`${outputPath}.tmp`, out);
await rename(`${outputPath}.tmp`, outputPath);
