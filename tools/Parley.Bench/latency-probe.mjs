// A second, independent observer of a server's latency: one pair of users in a process of its own,
// sending at a low rate while the generator loads the server, timing each message from the send call
// to its arrival at the recipient's socket. It shows how much of the generator's end-to-end figure is
// the server's: the generator's thousand sockets share its process and the machine's two cores,
// while this process is nearly idle. (Node 20 or later; Node 20 and 21 need --experimental-websocket.)
//
//   node --experimental-websocket tools/Parley.Bench/latency-probe.mjs [--url http://127.0.0.1:8080]
//        [--rate 200] [--warmup 2] [--duration 15] [--json-out FILE]
import { writeFileSync } from 'node:fs';

const options = { url: 'http://127.0.0.1:8080', rate: 200, warmup: 2, duration: 15, 'json-out': null };
for (let i = 2; i < process.argv.length; i += 2) {
  const name = process.argv[i].replace(/^--/, '');
  if (!(name in options)) {
    console.error(`unknown option ${process.argv[i]}; known: ${Object.keys(options).map(k => '--' + k).join(' ')}`);
    process.exit(2);
  }
  if (i + 1 >= process.argv.length) {
    console.error(`${process.argv[i]} needs a value`);
    process.exit(2);
  }
  const value = process.argv[i + 1];
  if (typeof options[name] === 'number') {
    options[name] = Number(value);
    // A warm-up may be left out (0); a rate or a duration of nothing measures nothing.
    const least = name === 'warmup' ? 'at least 0' : 'above 0';
    if (!Number.isFinite(options[name]) || options[name] < 0 || (options[name] === 0 && name !== 'warmup')) {
      console.error(`--${name} must be a number ${least} (it is ${JSON.stringify(value)})`);
      process.exit(2);
    }
  } else {
    options[name] = value;
  }
}
if (typeof WebSocket !== 'function') {
  console.error('This Node has no WebSocket client: run it with --experimental-websocket (Node 20, 21) or on Node 22+.');
  process.exit(2);
}

const base = options.url.replace(/\/$/, '');
const runId = `${Date.now()}-${process.pid}`;
const password = 'latency-probe-passphrase-5190';

async function post(path, body, token) {
  const response = await fetch(base + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`POST ${path}: ${response.status} ${await response.text()}`);
  return response.json();
}

async function newUser(n) {
  const email = `probe-${runId}-${n}@probe.example`;
  const { userId } = await post('/auth/register', { email, password, name: `Probe ${n}` });
  const { accessToken } = await post('/auth/login', { email, password });
  return { userId, accessToken };
}

function connect(token) {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${base.replace(/^http/, 'ws')}/ws?token=${encodeURIComponent(token)}`);
    socket.onopen = () => resolve(socket);
    socket.onerror = () => reject(new Error('the WebSocket did not open'));
  });
}

const sender = await newUser(1);
const recipient = await newUser(2);
const { id: chatId } = await post('/chats', { participantId: recipient.userId }, sender.accessToken);
const out = await connect(sender.accessToken);
const inbox = await connect(recipient.accessToken);

// Sent and not yet arrived: message number → when it was sent (ms, monotonic).
const inFlight = new Map();
const latencies = [];
let duplicates = 0;
inbox.onmessage = event => {
  const now = performance.now();
  const frame = JSON.parse(event.data);
  if (frame.type !== 'message') return;
  const n = Number(String(frame.data?.content ?? '').split(':')[1]);
  const sentAt = inFlight.get(n);
  if (sentAt === undefined) { duplicates++; return; }
  inFlight.delete(n);
  if (sentAt.measured) latencies.push(now - sentAt.at);
};

// One message a tick at the rate (5 ms at 200/s): a shorter timer would cost the machine, whose
// two cores the server and the generator share, a wake-up every millisecond.
const tick = Math.max(1, Math.floor(1000 / options.rate));
let next = 0;
function sendFor(seconds, measured) {
  return new Promise(resolve => {
    const started = performance.now();
    const first = next;
    const timer = setInterval(() => {
      const elapsed = performance.now() - started;
      if (elapsed >= seconds * 1000) { clearInterval(timer); resolve(); return; }
      // Keeps to the rate whatever the timer's granularity: every message due by now goes out.
      while (next - first < Math.floor((elapsed / 1000) * options.rate)) {
        next++;
        inFlight.set(next, { at: performance.now(), measured });
        out.send(JSON.stringify({ action: 'sendMessage', chatId, content: `probe:${next}`, clientMessageId: `probe-${next}` }));
      }
    }, tick);
  });
}

await sendFor(options.warmup, false);
const warmSent = next;
const cpuBefore = process.cpuUsage();
const phaseStart = performance.now();
await sendFor(options.duration, true);
const phaseSeconds = (performance.now() - phaseStart) / 1000;
const cpu = process.cpuUsage(cpuBefore);
// Time for the last ones to arrive.
const deadline = performance.now() + 5000;
while (inFlight.size > 0 && performance.now() < deadline) await new Promise(r => setTimeout(r, 50));
out.close();
inbox.close();

const sorted = latencies.slice().sort((a, b) => a - b);
const at = p => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : NaN);
const report = {
  workload: 'latency-probe',
  rate: options.rate,
  seconds: Math.round(phaseSeconds * 100) / 100,
  sent: next - warmSent,
  measured: sorted.length,
  lost: inFlight.size,
  duplicates,
  latency: { p50Ms: at(0.5), p95Ms: at(0.95), p99Ms: at(0.99), maxMs: sorted.at(-1) ?? NaN },
  over5Ms: sorted.filter(v => v > 5).length,
  probeCpuPercent: Math.round(((cpu.user + cpu.system) / 1000 / (phaseSeconds * 1000)) * 1000) / 10,
};
const ms = v => `${v.toFixed(2)} ms`;
console.log(`latency probe: ${report.measured} of ${report.sent} sent in ${report.seconds} s at ${options.rate}/s; lost ${report.lost}, duplicated ${report.duplicates}`);
console.log(`  send to delivery   p50 ${ms(report.latency.p50Ms)}  p95 ${ms(report.latency.p95Ms)}  p99 ${ms(report.latency.p99Ms)}  max ${ms(report.latency.maxMs)}; ${report.over5Ms} over 5 ms`);
console.log(`  probe CPU          ${report.probeCpuPercent}% of one core`);
if (options['json-out']) writeFileSync(options['json-out'], JSON.stringify(report, null, 2));
process.exit(report.lost > 0 || report.duplicates > 0 ? 1 : 0);
