import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import type { CallRecord } from '@parley/client';
import { createLogger } from '../../server/src/observability/index.ts';
import { LogCapture, type LogLine } from '../../server/test/log-capture.ts';
import { sdkPage, startDemo, WAIT, type Demo } from './kit.ts';
import type { PageClientOptions, SdkPage } from './sdk-page.ts';

/**
 * What the server logs and counts of real calls through the SDK in headless Chromium (the
 * chat-protobuf spec's 监控和日志): one whose media connects, and one whose ICE cannot connect
 * because the page allows relay candidates only and no TURN server is configured (the default:
 * no ICE servers), so Chromium has no candidate at all and its ICE never leaves `new`; the
 * SDK's media timeout declares it failed.
 */

declare const window: { sdk: SdkPage };

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const EVENTS = ['invite', 'accept', 'media', 'hangup', 'end'].map((e) => `webrtc_call_${e}`);

const logs = new LogCapture();
let demo: Demo;
let page: Page;
before(async () => {
  demo = await startDemo({}, false, { log: createLogger('info', logs) });
  page = await sdkPage(demo);
});
after(() => demo?.close());

/** /metrics as the server serves it, read one sample at a time (0 when absent). */
async function metrics(): Promise<(sample: string) => number> {
  const text = await (await fetch(`${demo.srv.httpBase}/metrics`)).text();
  return (sample) => {
    const hit = text.split('\n').find((l) => l.startsWith(`${sample} `));
    return hit ? Number(hit.slice(sample.length + 1)) : 0;
  };
}

const KEY = [
  'parley_calls_answered_total',
  'parley_calls_media_total{outcome="connected"}',
  'parley_calls_media_total{outcome="failed"}',
  'parley_call_connect_seconds_count',
  'parley_call_duration_seconds_count',
] as const;

/** How much each key metric grew while `body` ran. */
async function growth(body: () => Promise<void>): Promise<Record<string, number>> {
  const before = await metrics();
  await body();
  const now = await metrics();
  return Object.fromEntries(KEY.map((k) => [k, now(k) - before(k)]));
}

/**
 * An audio call from `caller` to `callee` in the page; `until` is what the media states of both
 * sides must reach before the caller hangs up. Returns the call's id and record.
 */
async function call(
  caller: string,
  callee: string,
  until: 'connected' | 'failed',
  options: PageClientOptions = {},
): Promise<{ cid: string; record: CallRecord; candidates: number }> {
  const tokens = { a: await demo.srv.token(caller), b: await demo.srv.token(callee) };
  const cid = await page.evaluate(({ a, b, to, o }) => window.sdk.call(a, b, to, o), {
    ...tokens,
    to: callee,
    o: options,
  });
  await page.waitForFunction(
    (s) => window.sdk.states.caller.includes(s) && window.sdk.states.callee.includes(s),
    until,
    WAIT,
  );
  const candidates = await page.evaluate(() => window.sdk.localCandidates());
  const record = await page.evaluate(() => window.sdk.hangup());
  return { cid, record, candidates };
}

/** The call's lines in the spec's shape, in the order they were logged. */
async function callLines(cid: string): Promise<LogLine[]> {
  await logs.next((l) => l.event === 'webrtc_call_end' && l.call_id === cid, WAIT.timeout);
  return logs.lines.filter((l) => l.call_id === cid);
}

/** The record as `GET /api/calls/:id` has it. */
async function stored(userId: string, cid: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${demo.srv.httpBase}/api/calls/${encodeURIComponent(cid)}`, {
    headers: { authorization: `Bearer ${await demo.srv.token(userId)}` },
  });
  assert.equal(res.status, 200);
  return ((await res.json()) as { data: Record<string, unknown> }).data;
}

describe('call logs and key metrics from real calls in Chromium', () => {
  test('media connected: logged in the spec shape, counted as a success with its times', async () => {
    let cid = '';
    let record: CallRecord | null = null;
    const grew = await growth(async () => {
      ({ cid, record } = await call('tel-alice', 'tel-bob', 'connected'));
      await callLines(cid);
    });
    assert.match(String(record!.mediaConnectedAt), ISO);
    assert.equal(record!.mediaFailedReason, null);
    assert.equal((await stored('tel-bob', cid)).mediaConnectedAt, record!.mediaConnectedAt);

    const lines = await callLines(cid);
    assert.deepEqual(
      lines.map((l) => l.event),
      EVENTS,
    );
    const agent = await page.evaluate(() => navigator.userAgent);
    assert.match(agent, /Chrome\//);
    for (const l of lines) {
      assert.match(String(l.timestamp), ISO, JSON.stringify(l));
      assert.equal(l.level, 'INFO');
      assert.equal(l.caller, 'tel-alice');
      assert.equal(l.callee, 'tel-bob');
      // Both clients run in this page: every line has its agent, and loopback's address.
      assert.deepEqual(l.metadata, { user_agent: agent, ip: '127.0.0.1' }, JSON.stringify(l));
    }
    const [, , media, , end] = lines as [LogLine, LogLine, LogLine, LogLine, LogLine];
    assert.equal(media.state, 'connected');
    assert.equal(media.connected_at, record!.mediaConnectedAt);
    assert.equal(end.reason, 'hangup');
    assert.equal(end.media_outcome, 'connected');

    assert.deepEqual(grew, {
      parley_calls_answered_total: 1,
      'parley_calls_media_total{outcome="connected"}': 1,
      'parley_calls_media_total{outcome="failed"}': 0,
      parley_call_connect_seconds_count: 1,
      parley_call_duration_seconds_count: 1,
    });
  });

  test('ICE cannot connect: the SDK reports the failure, logged and counted as an error', async () => {
    let cid = '';
    let record: CallRecord | null = null;
    let candidates = -1;
    const grew = await growth(async () => {
      ({ cid, record, candidates } = await call('tel-carol', 'tel-dan', 'failed', {
        iceTransportPolicy: 'relay',
        mediaTimeoutMs: 3_000,
      }));
      await callLines(cid);
    });
    assert.equal(candidates, 0, 'relay only, no TURN: the connection has no candidate');
    assert.equal(record!.mediaConnectedAt, null);
    assert.equal(record!.mediaFailedReason, 'ice_timeout');
    const rest = await stored('tel-carol', cid);
    assert.equal(rest.mediaFailedReason, 'ice_timeout');
    assert.equal(rest.mediaConnectedAt, null);

    const lines = await callLines(cid);
    assert.deepEqual(
      lines.map((l) => l.event),
      EVENTS,
    );
    const [, , media, , end] = lines as [LogLine, LogLine, LogLine, LogLine, LogLine];
    assert.equal(media.state, 'failed');
    assert.equal(media.reason, 'ice_timeout');
    assert.equal(media.level, 'INFO');
    assert.deepEqual(media.metadata, {
      user_agent: await page.evaluate(() => navigator.userAgent),
      ip: '127.0.0.1',
    });
    assert.equal(end.media_outcome, 'failed');

    assert.deepEqual(grew, {
      parley_calls_answered_total: 1,
      'parley_calls_media_total{outcome="connected"}': 0,
      'parley_calls_media_total{outcome="failed"}': 1,
      parley_call_connect_seconds_count: 0,
      parley_call_duration_seconds_count: 1,
    });
  });
});
