// Medians and same-run ratios of bench/run_matrix.sh results, as Markdown.
//   node bench/summarize.mjs runs.jsonl > summary.md
//
// Every table lists the servers present in runs.jsonl, so a run narrowed with
// BENCH_SERVERS or BENCH_SCENARIOS summarizes too. Beside each server's
// figures: the generator's CPU in that run (cores for the whole process, and
// its busiest thread's share of one core, so a reader can tell whether the
// server or the generator was saturated) and, for the Go hub, the clients it
// dropped for a full send queue (summed over the repetitions). Ratios are
// Parley's figure divided by the peer's, medians of the same run.
import { readFileSync } from 'node:fs';
import os from 'node:os';

const rows = readFileSync(process.argv[2], 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const median = (xs) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const runsOf = (scenario, server) => rows.filter((r) => r.run.label === scenario && r.server === server);
const pick = (scenario, server, f) => median(runsOf(scenario, server).map((r) => f(r.run)));
const fmt = (x, d = 0) => (Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : '–');
const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? `${(a / b).toFixed(2)}×` : '–');

const order = ['ws', 'beast', 'socketio', 'go1', 'go2', 'parley', 'parley2', 'base'];
const names = {
  ws: 'Node ws relay', beast: 'Beast relay', socketio: 'Socket.IO 4.8', go1: 'Go hub, 1 proc',
  go2: 'Go hub, 2 procs', parley: 'Parley', parley2: 'Parley, 2 threads', base: 'Parley (base build)',
};
const servers = order.filter((s) => rows.some((r) => r.server === s));
const peers = servers.filter((s) => !s.startsWith('parley') && s !== 'base');
const isGo = (s) => s === 'go1' || s === 'go2';
const reps = Math.max(...rows.map((r) => r.rep));
const clean = (r) => (r.run.lost ?? 0) === 0 && (r.run.duplicated ?? 0) === 0;
const traffic = rows.filter((r) => r.run.latency_ms);
const threads = [...new Set(rows.map((r) => r.run.generator_threads).filter(Boolean))];
const busiest = Math.max(...traffic.map((r) => r.run.generator_busiest_thread_share ?? NaN).filter(Number.isFinite));
const generatorBound = traffic.filter((r) => (r.run.generator_busiest_thread_share ?? 0) >= 0.9);

const generatorCell = (scenario, s) =>
  `${fmt(pick(scenario, s, (r) => r.generator_cpu_share), 2)} (${fmt(pick(scenario, s, (r) => r.generator_busiest_thread_share), 2)})`;
const dropsCell = (scenario, s) => {
  if (!isGo(s)) return '–';
  const runs = runsOf(scenario, s);
  return fmt(runs.reduce((n, r) => n + (r.dropped ?? 0), 0));
};
const lossCell = (scenario, s) => {
  const runs = runsOf(scenario, s);
  return runs.length === 0 ? '–' : runs.every(clean) ? '0 / 0' : `${runs.reduce((n, r) => n + (r.run.lost ?? 0), 0)} / ${runs.reduce((n, r) => n + (r.run.duplicated ?? 0), 0)}`;
};

const out = [];
// A Go hub that dropped clients delivered to fewer of them, and its lost
// deliveries are those of the dropped clients: say so under the table.
const dropsNote = (scenario) => {
  for (const s of servers.filter(isGo)) {
    const runs = runsOf(scenario, s).filter((r) => (r.dropped ?? 0) > 0);
    if (runs.length > 0)
      out.push('', `${names[s]} dropped clients for a full send queue in ${runs.length} of ${runsOf(scenario, s).length} runs (${runs.map((r) => r.dropped).join(', ')} of ${runs[0].run.clients}); its deliveries/s count only the clients it kept, and its losses are the dropped clients' messages.`);
  }
};
out.push(`Machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}.`);
out.push(`Medians of ${reps} repetitions; ratios are Parley against each peer in the same run. Lost and duplicated deliveries: ${rows.every(clean) ? 'none in any run' : 'SOME (see the lost / dup columns and runs.jsonl)'}.`);
out.push(`Generator: ${threads.join(', ') || '?'} thread(s); "generator CPU" is cores used by the whole process (its busiest thread's share of one core in brackets). ` +
  (generatorBound.length === 0
    ? `No generator thread reached 0.9 of a core in any traffic run (at most ${fmt(busiest, 2)}).`
    : `Generator-bound runs (a thread at ≥ 0.9 of a core): ${generatorBound.map((r) => `${r.run.label}/${r.server} rep ${r.rep}`).join(', ')}.`));
out.push('');

// Same-run ratios of Parley against each peer: throughput, CPU per delivery, p99.
const ratioTable = (scenario) => {
  out.push('| Parley ÷ | deliveries/s | server CPU µs/delivery | p99 |', '|---|---:|---:|---:|');
  for (const s of peers) {
    const both = (f) => ratio(pick(scenario, 'parley', f), pick(scenario, s, f));
    out.push(`| ${names[s]} | ${both((r) => r.deliveries_per_second)} | ${both((r) => r.server_cpu_us_per_delivery)} | ${both((r) => r.latency_ms.p99)} |`);
  }
  // On all cores: Parley's two event loops against each peer.
  if (servers.includes('parley2')) {
    for (const s of [...peers, 'parley']) {
      const both = (f) => ratio(pick(scenario, 'parley2', f), pick(scenario, s, f));
      out.push(`| Parley, 2 threads ÷ ${names[s]} | ${both((r) => r.deliveries_per_second)} | ${both((r) => r.server_cpu_us_per_delivery)} | ${both((r) => r.latency_ms.p99)} |`);
    }
  }
  out.push('');
};

for (const [scenario, title] of [['busy-100', 'One busy room, C = 100, S = 10, window 8 (saturation)'],
                                 ['busy-1000', 'One busy room, C = 1,000, S = 10, window 16 (saturation)']]) {
  if (!rows.some((r) => r.run.label === scenario)) continue;
  out.push(`**${title}**`, '');
  out.push('| server | deliveries/s | server CPU µs/delivery | server CPU (cores) | generator CPU (busiest thread) | p50 ms | p99 ms | lost / dup | Go hub drops |');
  out.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const s of servers)
    out.push(`| ${names[s]} | ${fmt(pick(scenario, s, (r) => r.deliveries_per_second))} | ${fmt(pick(scenario, s, (r) => r.server_cpu_us_per_delivery), 2)} | ${fmt(pick(scenario, s, (r) => r.server_cpu_share), 2)} | ${generatorCell(scenario, s)} | ${fmt(pick(scenario, s, (r) => r.latency_ms.p50), 1)} | ${fmt(pick(scenario, s, (r) => r.latency_ms.p99), 1)} | ${lossCell(scenario, s)} | ${dropsCell(scenario, s)} |`);
  dropsNote(scenario);
  out.push('');
  ratioTable(scenario);
}

if (rows.some((r) => r.run.label === 'rate-50k')) {
  out.push('**Fixed rate: 50 messages/s into one room of 1,000 (50,000 deliveries/s)**', '');
  out.push('| server | deliveries/s | p50 ms | p90 ms | p99 ms | max ms | server CPU µs/delivery | generator CPU (busiest thread) | lost / dup | Go hub drops |');
  out.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const s of servers)
    out.push(`| ${names[s]} | ${fmt(pick('rate-50k', s, (r) => r.deliveries_per_second))} | ${fmt(pick('rate-50k', s, (r) => r.latency_ms.p50), 2)} | ${fmt(pick('rate-50k', s, (r) => r.latency_ms.p90), 2)} | ${fmt(pick('rate-50k', s, (r) => r.latency_ms.p99), 2)} | ${fmt(pick('rate-50k', s, (r) => r.latency_ms.max), 2)} | ${fmt(pick('rate-50k', s, (r) => r.server_cpu_us_per_delivery), 2)} | ${generatorCell('rate-50k', s)} | ${lossCell('rate-50k', s)} | ${dropsCell('rate-50k', s)} |`);
  dropsNote('rate-50k');
  out.push('');
  ratioTable('rate-50k');
}

if (rows.some((r) => r.run.label === 'idle-5000' || r.run.label === 'storm-2000')) {
  out.push('**Idle connections (5,000) and connect storm (2,000)**', '');
  out.push('| server | RSS per idle connection (KiB) | connections/s | generator CPU while connecting the storm (busiest thread) |');
  out.push('|---|---:|---:|---:|');
  for (const s of servers)
    out.push(`| ${names[s]} | ${fmt(pick('idle-5000', s, (r) => r.server_rss_per_connection_kib), 2)} | ${fmt(pick('storm-2000', s, (r) => r.connections_per_second))} | ${generatorCell('storm-2000', s)} |`);
  out.push('', 'A Socket.IO connection counts as set up once it has joined the main namespace (one more round trip than a WebSocket handshake); a Parley connection in the storm is a WebSocket handshake, in the idle run it has also signed in and joined its room.', '');
}

if (rows.some((r) => r.server === 'parley' && (r.run.label === 'many-rooms' || r.run.label === 'history'))) {
  out.push('**Parley only**', '');
  out.push(`- Many rooms (1,000 clients in 100 rooms, 100 senders, window 4): ${fmt(pick('many-rooms', 'parley', (r) => r.deliveries_per_second))} deliveries/s, p99 ${fmt(pick('many-rooms', 'parley', (r) => r.latency_ms.p99), 1)} ms, ${fmt(pick('many-rooms', 'parley', (r) => r.server_cpu_us_per_delivery), 2)} µs server CPU per delivery.`);
  out.push(`- History under load (1,000 clients in 10 rooms, 200 messages/s, 50 history pages/s): page latency p50 ${fmt(pick('history', 'parley', (r) => r.history_ms?.p50), 2)} ms, p99 ${fmt(pick('history', 'parley', (r) => r.history_ms?.p99), 2)} ms; deliveries p99 ${fmt(pick('history', 'parley', (r) => r.latency_ms.p99), 1)} ms.`);
}

if (servers.includes('base')) {
  out.push('', '**Parley against the base build, same run** (ratio > 1: this build has more of it)', '');
  out.push('| scenario | deliveries/s | server CPU µs/delivery | p99 ms | RSS per idle connection |');
  out.push('|---|---:|---:|---:|---:|');
  const both = (scenario, f) => ratio(pick(scenario, 'parley', f), pick(scenario, 'base', f));
  for (const scenario of ['busy-100', 'busy-1000', 'rate-50k', 'many-rooms', 'history', 'idle-5000'])
    out.push(`| ${scenario} | ${both(scenario, (r) => r.deliveries_per_second)} | ${both(scenario, (r) => r.server_cpu_us_per_delivery)} | ${both(scenario, (r) => r.latency_ms?.p99)} | ${both(scenario, (r) => r.server_rss_per_connection_kib)} |`);
}
console.log(out.join('\n'));
