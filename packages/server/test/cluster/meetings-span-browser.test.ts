import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { Page } from 'playwright-core';
import type { MeetingPageWindow } from '@parley/bench/browser';
import { MeetingBrowser, WAIT, decodedPeers, heardPeerGone, untilPage } from '../browser-kit.ts';
import { ChildNodes, nodeApi, type ChildNode } from '../child-nodes.ts';
import {
  FAST_CLUSTER,
  REDIS_URL,
  createSchema,
  dropKeys,
  requireRedis,
  uniqueName,
} from '../cluster-harness.ts';
import { until } from '../harness.ts';
import { createMeeting, joinMeeting, workerBin } from '../meeting-kit.ts';

/**
 * A meeting spanning three nodes on Redis (child processes), in headless Chromium with fake
 * devices: each participant connects to a different node, so every video crosses a pipe
 * between two nodes (SRTP on: `sfu.pipeSrtp`), and every participant decodes every other's
 * and reads the others' data channel messages (SCTP pipes). Then one node is killed (SIGKILL):
 * the two others hear rtc:producerClosed and rtc:peerLeft for its participant, and keep
 * decoding each other; the janitor takes the dead node out of the meeting's node set.
 */

declare const window: MeetingPageWindow;

describe('a meeting spanning three nodes in Chromium', () => {
  let pg: Awaited<ReturnType<typeof createSchema>>;
  let prefix: string;
  let dataDir: string;
  let nodes: ChildNodes;
  const started: ChildNode[] = [];
  let chromium: MeetingBrowser;
  let redis: Redis;

  before(async () => {
    await requireRedis();
    pg = await createSchema();
    prefix = uniqueName('span');
    dataDir = mkdtempSync(join(tmpdir(), 'parley-span-'));
    const bin = workerBin();
    nodes = new ChildNodes(dataDir, () => ({
      DATABASE_URL: pg.url,
      REDIS_URL,
      PARLEY_CLUSTER_PREFIX: prefix,
      PARLEY_CLUSTER_HEARTBEAT_MS: String(FAST_CLUSTER.heartbeatMs),
      PARLEY_CLUSTER_NODE_TTL_MS: String(FAST_CLUSTER.nodeTtlMs),
      PARLEY_CLUSTER_JANITOR_MS: String(FAST_CLUSTER.janitorIntervalMs),
      PARLEY_CLUSTER_MEETINGS_SPAN: 'true',
      PARLEY_SFU_PIPE_SRTP: 'true',
      MEDIASOUP_WORKER_BIN: bin,
    }));
    // One at a time: the first runs the migrations.
    for (let i = 0; i < 3; i++) started.push(await nodes.start());
    chromium = await MeetingBrowser.open();
    redis = new Redis(REDIS_URL);
  });
  after(async () => {
    redis?.disconnect();
    await chromium?.close();
    await nodes?.close();
    await pg?.drop();
    if (prefix) await dropKeys(prefix);
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  test(
    'each participant on its own node decodes the others; a node dies, the others carry on',
    { timeout: 300_000 },
    async () => {
      const api = nodeApi(started[0]!.port);
      const meetingId = await createMeeting(api, 'host');
      const users = ['host', 'ana', 'bo'] as const;
      await joinMeeting(api, meetingId, ...users);
      const pages: Record<string, Page> = {};
      const peerIds: Record<string, string> = {};
      try {
        for (const [i, user] of users.entries()) {
          const joined = await chromium.join(user, {
            server: `ws://127.0.0.1:${started[i]!.port}`,
            transport: 'ws',
            token: await nodes.auth.mint(user, { name: user }),
            meetingId,
          });
          peerIds[user] = joined.peerId;
          pages[user] = joined.page;
        }
        for (const user of users) await pages[user]!.evaluate(() => window.meeting.publish());

        const logs = () => started.map((n, i) => `--- node ${i}\n${n.child.tail()}`).join('\n');
        try {
          for (const user of users) {
            const others = users
              .filter((u) => u !== user)
              .map((u) => peerIds[u]!)
              .sort();
            assert.deepEqual(
              await decodedPeers(pages[user]!, 2, user),
              others,
              `${user} sees both`,
            );
          }
          // Data channels cross the nodes too (said until heard: a channel opens some time
          // after its consumer is created, and what is said before is not kept).
          const heardFrom = (user: string) =>
            users.filter((u) => u !== user).map((u) => `hello from ${u}`);
          await untilPage('every participant reads the others on the data channel', async () => {
            for (const user of users) {
              await pages[user]!.evaluate((u) => {
                try {
                  window.meeting.say(`hello from ${u}`);
                } catch {
                  // Not open yet: the next round says it again.
                }
              }, user);
            }
            for (const user of users) {
              const all = await pages[user]!.evaluate(
                (want: string[]) => want.every((w) => window.meeting.messages.includes(w)),
                heardFrom(user),
              );
              if (!all) return false;
            }
            return true;
          });
          const nodesKey = `${prefix}:meeting-nodes:${meetingId}`;
          const servingBefore = await redis.smembers(nodesKey);
          assert.equal(servingBefore.length, 3, 'three nodes serve the meeting');

          // Bo's node dies: host and ana hear his producers close and him leave, and keep
          // decoding each other through the pipe between their nodes.
          process.kill(started[2]!.child.pid, 'SIGKILL');
          for (const user of ['host', 'ana'] as const) {
            const p = pages[user]!;
            await heardPeerGone(p, peerIds.bo!);
            const other = user === 'host' ? peerIds.ana! : peerIds.host!;
            assert.deepEqual(await decodedPeers(p, 1, user), [other], `${user} still decodes`);
          }
          // The janitor takes Bo's node out of the meeting's node set (and drops its list).
          await until(
            'the dead node leaves the node set',
            async () => (await redis.smembers(nodesKey)).length === 2,
            WAIT.timeout,
          );
          const serving = await redis.smembers(nodesKey);
          const [dead] = servingBefore.filter((n) => !serving.includes(n));
          assert.ok(dead, 'one of the three left');
          assert.equal(await redis.exists(`${prefix}:node-meetings:${dead}`), 0);
          for (const n of serving) {
            assert.equal(await redis.exists(`${prefix}:alive:${n}`), 1, 'the live ones stay');
          }
        } catch (err) {
          throw new Error(`${(err as Error).message}\n${logs()}`);
        }
      } finally {
        for (const p of Object.values(pages)) await p.close();
      }
    },
  );
});
