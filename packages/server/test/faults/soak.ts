import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { devCommand, whole } from '@parley/bench/dev-cli';
import { CallLoad } from './call-load.ts';
import { ParleyNode, token } from './node.ts';
import { Peer } from './peer.ts';

/**
 * `npm run soak`: call churn and meeting joins against one Parley process for `--minutes`,
 * printing the server's RSS and heap every `--interval-seconds`. Memory must be flat: the run
 * fails when the heap at the end is more than a quarter (plus 10 MB) above where it stood after
 * the first minute.
 */

const values = devCommand(
  'soak',
  'call churn and meeting joins against one Parley, watching its memory',
)
  .option('--minutes <n>', 'how long to run', whole(1), 10)
  .option('--interval-seconds <s>', 'how often to print RSS and heap', whole(1), 30)
  .option('--pairs <count>', 'pairs of users making calls', whole(1), 20)
  .option('--meetings <count>', 'meeting join loops', whole(0), 4)
  .parse()
  .opts<{ minutes: number; intervalSeconds: number; pairs: number; meetings: number }>();
const runMs = values.minutes * 60_000;
const intervalMs = values.intervalSeconds * 1000;

const node = await ParleyNode.create();
await node.start();
const calls = new CallLoad({
  pairs: values.pairs,
  base: () => node.ws,
  token,
  prefix: `soak${process.pid}`,
  iceHz: 5,
  callMs: [500, 3000],
});
let joins = 0;
let joinErrors = 0;
let running = true;

/** A user who creates a meeting, joins its media (transports included), leaves and ends it. */
async function meetingLoop(i: number): Promise<void> {
  const userId = `soak${process.pid}-m${i}`;
  const headers = {
    authorization: `Bearer ${await token(userId)}`,
    'content-type': 'application/json',
  };
  const rest = async (path: string, body: unknown = {}) => {
    const res = await fetch(`${node.http}/api/meetings${path}`, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`POST ${path}: HTTP ${res.status}`);
    return ((await res.json()) as { data: { meetingId: string } }).data;
  };
  while (running) {
    let peer: Peer | undefined;
    try {
      const { meetingId } = await rest('', { title: `soak ${i}` });
      await rest(`/${meetingId}/join`);
      peer = await Peer.open(`${node.ws}/ws/meeting?token=${await token(userId)}`);
      for (const [type, data] of [
        ['rtc:getRouterRtpCapabilities', {}],
        ['rtc:join', {}],
        ['rtc:createTransport', { direction: 'send' }],
        ['rtc:createTransport', { direction: 'recv' }],
        ['rtc:leave', {}],
      ] as const) {
        const f = await peer.ask(type, { meetingId, ...data });
        if (f.type === 'rtc:error') throw new Error(`${type}: ${JSON.stringify(f)}`);
      }
      await rest(`/${meetingId}/end`);
      joins++;
    } catch (err) {
      joinErrors++;
      if (joinErrors <= 5) process.stderr.write(`soak: meeting: ${(err as Error).message}\n`);
      await sleep(1000);
    } finally {
      peer?.close();
    }
    await sleep(250);
  }
}

/** The server's RSS (from /proc) and V8 heap in use (from /metrics), in MB. */
async function memory(): Promise<{ rss: number; heap: number }> {
  const pid = node.child!.pid;
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  const text = await fetch(`${node.http}/metrics`).then(
    (r) => (r.ok ? r.text() : ''),
    () => '',
  );
  const heap = Number(/^nodejs_heap_size_used_bytes (\S+)/m.exec(text)?.[1]);
  return { rss: rssKb / 1024, heap: heap / 2 ** 20 };
}

calls.start();
const meetingLoops = Array.from({ length: values.meetings }, (_, i) => meetingLoop(i));
const samples: Array<{ at: number; rss: number; heap: number }> = [];
const t0 = performance.now();
process.stdout.write(
  '| minute | calls | meeting joins | RSS (MB) | heap used (MB) |\n| ---: | ---: | ---: | ---: | ---: |\n',
);
while (performance.now() - t0 < runMs) {
  await sleep(Math.min(intervalMs, runMs - (performance.now() - t0)));
  const m = await memory();
  const at = (performance.now() - t0) / 60_000;
  samples.push({ at, ...m });
  process.stdout.write(
    `| ${at.toFixed(1)} | ${calls.promised.size} | ${joins} | ${m.rss.toFixed(1)} | ${m.heap.toFixed(1)} |\n`,
  );
}
running = false;
await calls.stop();
await Promise.all(meetingLoops);
await node.remove();

// Flat: the heap of the last three samples against the three after the first minute.
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const settled = samples.filter((s) => s.at >= 1);
const start = mean(settled.slice(0, 3).map((s) => s.heap));
const end = mean(settled.slice(-3).map((s) => s.heap));
const judged = settled.length >= 6;
const flat = !judged || end <= start * 1.25 + 10;
process.stdout.write(
  `\n${calls.promised.size} calls, ${joins} meeting joins (${joinErrors} failed); ` +
    (judged
      ? `heap ${start.toFixed(1)} → ${end.toFixed(1)} MB after the first minute: ${flat ? 'flat' : 'GROWING'}\n`
      : 'too short to judge the heap (six samples after the first minute are needed)\n'),
);
process.exit(flat && joinErrors === 0 ? 0 : 1);
