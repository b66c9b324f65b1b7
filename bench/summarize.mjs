// Medians and same-run ratios of bench/run_matrix.sh results, as Markdown.
//   node bench/summarize.mjs runs.jsonl > summary.md
import { readFileSync } from 'node:fs';
import os from 'node:os';

const rows = readFileSync(process.argv[2], 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const pick = (scenario, server, f) => median(rows.filter((r) => r.run.label === scenario && r.server === server).map((r) => f(r.run)));
const fmt = (x, d = 0) => (Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : '–');
const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? `${(a / b).toFixed(2)}×` : '–');
const hasBase = rows.some((r) => r.server === 'base');  // PARLEY_BASE_BUILD: an earlier build beside Parley
const servers = hasBase ? ['ws', 'beast', 'parley', 'base'] : ['ws', 'beast', 'parley'];
const names = { ws: 'Node ws relay', beast: 'Beast relay', parley: 'Parley', base: 'Parley (base build)' };
const reps = Math.max(...rows.map((r) => r.rep));
const allClean = rows.every((r) => (r.run.lost ?? 0) === 0 && (r.run.duplicated ?? 0) === 0);

const out = [];
out.push(`Machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}.`);
out.push(`Medians of ${reps} repetitions; ratios are Parley against each baseline in the same run. Lost and duplicated deliveries in all runs: ${allClean ? 'none' : 'SOME (see runs.jsonl)'}.`);
out.push('');
for (const [scenario, title] of [['busy-100', 'One busy room, C = 100, S = 10, window 8 (saturation)'],
                                 ['busy-1000', 'One busy room, C = 1,000, S = 10, window 16 (saturation)']]) {
  out.push(`**${title}**`, '');
  out.push('| server | deliveries/s | server CPU µs/delivery | server CPU (cores) | generator CPU (cores) | p50 ms | p99 ms |');
  out.push('|---|---:|---:|---:|---:|---:|---:|');
  for (const s of servers)
    out.push(`| ${names[s]} | ${fmt(pick(scenario, s, (r) => r.deliveries_per_second))} | ${fmt(pick(scenario, s, (r) => r.server_cpu_us_per_delivery), 2)} | ${fmt(pick(scenario, s, (r) => r.server_cpu_share), 2)} | ${fmt(pick(scenario, s, (r) => r.generator_cpu_share), 2)} | ${fmt(pick(scenario, s, (r) => r.latency_ms.p50), 1)} | ${fmt(pick(scenario, s, (r) => r.latency_ms.p99), 1)} |`);
  const p = pick(scenario, 'parley', (r) => r.deliveries_per_second);
  const c = pick(scenario, 'parley', (r) => r.server_cpu_us_per_delivery);
  out.push('', `Parley throughput: ${ratio(p, pick(scenario, 'ws', (r) => r.deliveries_per_second))} the ws relay, ${ratio(p, pick(scenario, 'beast', (r) => r.deliveries_per_second))} the Beast relay. Server CPU per delivery: ${ratio(c, pick(scenario, 'ws', (r) => r.server_cpu_us_per_delivery))} the ws relay's, ${ratio(c, pick(scenario, 'beast', (r) => r.server_cpu_us_per_delivery))} the Beast relay's.`, '');
}
out.push('**Fixed rate: 50 messages/s into one room of 1,000 (50,000 deliveries/s)**', '');
out.push('| server | deliveries/s | p50 ms | p90 ms | p99 ms | max ms | server CPU µs/delivery |');
out.push('|---|---:|---:|---:|---:|---:|---:|');
for (const s of servers)
  out.push(`| ${names[s]} | ${fmt(pick('rate-50k', s, (r) => r.deliveries_per_second))} | ${fmt(pick('rate-50k', s, (r) => r.latency_ms.p50), 2)} | ${fmt(pick('rate-50k', s, (r) => r.latency_ms.p90), 2)} | ${fmt(pick('rate-50k', s, (r) => r.latency_ms.p99), 2)} | ${fmt(pick('rate-50k', s, (r) => r.latency_ms.max), 2)} | ${fmt(pick('rate-50k', s, (r) => r.server_cpu_us_per_delivery), 2)} |`);
const p99 = pick('rate-50k', 'parley', (r) => r.latency_ms.p99);
out.push('', `Parley p99: ${ratio(p99, pick('rate-50k', 'ws', (r) => r.latency_ms.p99))} the ws relay's, ${ratio(p99, pick('rate-50k', 'beast', (r) => r.latency_ms.p99))} the Beast relay's.`, '');
out.push('**Idle connections (5,000) and connect storm (2,000)**', '');
out.push('| server | RSS per idle connection (KiB) | connections/s |');
out.push('|---|---:|---:|');
for (const s of servers)
  out.push(`| ${names[s]} | ${fmt(pick('idle-5000', s, (r) => r.server_rss_per_connection_kib), 2)} | ${fmt(pick('storm-2000', s, (r) => r.connections_per_second))} |`);
out.push('', '**Parley only**', '');
out.push(`- Many rooms (1,000 clients in 100 rooms, 100 senders, window 4): ${fmt(pick('many-rooms', 'parley', (r) => r.deliveries_per_second))} deliveries/s, p99 ${fmt(pick('many-rooms', 'parley', (r) => r.latency_ms.p99), 1)} ms, ${fmt(pick('many-rooms', 'parley', (r) => r.server_cpu_us_per_delivery), 2)} µs server CPU per delivery.`);
out.push(`- History under load (1,000 clients in 10 rooms, 200 messages/s, 50 history pages/s): page latency p50 ${fmt(pick('history', 'parley', (r) => r.history_ms?.p50), 2)} ms, p99 ${fmt(pick('history', 'parley', (r) => r.history_ms?.p99), 2)} ms; deliveries p99 ${fmt(pick('history', 'parley', (r) => r.latency_ms.p99), 1)} ms.`);
if (hasBase) {
  out.push('', '**Parley against the base build, same run** (ratio > 1: this build has more of it)', '');
  out.push('| scenario | deliveries/s | server CPU µs/delivery | p99 ms | RSS per idle connection |');
  out.push('|---|---:|---:|---:|---:|');
  const both = (scenario, f) => ratio(pick(scenario, 'parley', f), pick(scenario, 'base', f));
  for (const scenario of ['busy-100', 'busy-1000', 'rate-50k', 'many-rooms', 'history', 'idle-5000'])
    out.push(`| ${scenario} | ${both(scenario, (r) => r.deliveries_per_second)} | ${both(scenario, (r) => r.server_cpu_us_per_delivery)} | ${both(scenario, (r) => r.latency_ms?.p99)} | ${both(scenario, (r) => r.server_rss_per_connection_kib)} |`);
}
console.log(out.join('\n'));
