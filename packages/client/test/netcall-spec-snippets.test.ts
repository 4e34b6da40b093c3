import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { startServer, type TestServer } from '../../server/test/harness.ts';
import { ParleyClient, type SignalingSocket, type SocketFactory } from '../src/index.ts';
import { FakePeerHandler } from './fake-peer.ts';
import {
  acceptSnippet,
  beCallingSnippet,
  callerAckSyncSnippet,
  callerSnippets,
  hangupNoticeSnippet,
  hangupSnippet,
  rejectSnippet,
  startRtcSnippet,
  type SnippetConsole,
  type SnippetHost,
} from './netcall-spec-snippets.ts';

/**
 * The code blocks of specs/netcall-sdk.md (netcall-spec-snippets.ts, verbatim) run as an app
 * would run them: alice calls bob, who is signed in on two devices, through a real Parley node
 * on its default configuration. The SDK's WebRTC side is the fake handler (no browser in Node);
 * everything else is the real SDK over real sockets. What the snippets log is what is checked.
 */

const SNIPPETS = new URL('./netcall-spec-snippets.ts', import.meta.url);

/** The spec lives beside the checkout, not in it: in `specs/` or `shared/specs/` above it. */
function findSpec(): string {
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    for (const candidate of ['specs', 'shared/specs']) {
      const path = join(dir, candidate, 'netcall-sdk.md');
      if (existsSync(path)) return path;
    }
    if (dirname(dir) === dir) {
      assert.fail(`specs/netcall-sdk.md not found in specs/ or shared/specs/ above ${start}`);
    }
  }
}

/** How long a snippet may take to say something (the machine's cores are shared). */
const SAY_WITHIN_MS = 15_000;

/** The browser's WebSocket, played by `ws`. */
const nodeSocket: SocketFactory = (url) => {
  const ws = new WebSocket(url);
  const socket: SignalingSocket = {
    send: (text) => ws.send(text),
    close: (code, reason) => ws.close(code, reason),
    onopen: null,
    onmessage: null,
    onclose: null,
    onerror: null,
  };
  ws.on('open', () => socket.onopen?.());
  ws.on('message', (data: Buffer) => socket.onmessage?.({ data: data.toString('utf8') }));
  ws.on('close', (code, reason) => socket.onclose?.({ code, reason: reason.toString('utf8') }));
  ws.on('error', () => socket.onerror?.());
  return socket;
};

/** A console that keeps what the snippets said, so a test can wait for a line and read it. */
class Said implements SnippetConsole {
  private readonly lines: Array<{ args: unknown[]; taken: boolean }> = [];
  private readonly waiters: Array<{ first: unknown; resolve: (args: unknown[]) => void }> = [];

  constructor(private readonly who: string) {}

  log = (...args: unknown[]) => this.say(args);
  warn = (...args: unknown[]) => this.say(['warn', ...args]);
  error = (...args: unknown[]) => this.say(['error', ...args]);

  /** The rest of the next line that starts with `first` (said already, or still to come). */
  next(first: unknown): Promise<unknown[]> {
    const line = this.lines.find((l) => !l.taken && l.args[0] === first);
    if (line) {
      line.taken = true;
      return Promise.resolve(line.args.slice(1));
    }
    return new Promise((resolve, reject) => {
      const waiter = { first, resolve };
      this.waiters.push(waiter);
      setTimeout(() => {
        if (!this.waiters.includes(waiter)) return;
        reject(new Error(`${this.who} never said ${JSON.stringify(first)}; said: ${this.all()}`));
      }, SAY_WITHIN_MS).unref();
    });
  }

  /** The data object of the next line that starts with `text`. */
  async data(text: string): Promise<Record<string, unknown>> {
    return (await this.next(text))[0] as Record<string, unknown>;
  }

  /** Everything said, for failure messages. */
  all(): string {
    return JSON.stringify(this.lines.map((l) => l.args));
  }

  private say(args: unknown[]): void {
    const i = this.waiters.findIndex((w) => w.first === args[0]);
    if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(args.slice(1));
    else this.lines.push({ args, taken: false });
  }
}

let srv: TestServer;
before(async () => {
  srv = await startServer();
});
after(async () => {
  await srv.close();
});

const clients: ParleyClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.disconnect();
});

/** A signed-in SDK client of `userId` on a `clientType` device, with the fake WebRTC side. */
async function signIn(userId: string, clientType: string): Promise<ParleyClient> {
  const client = new ParleyClient({
    url: srv.httpBase,
    token: await srv.token(userId, { name: userId.toUpperCase() }),
    clientType,
    socket: nodeSocket,
    peerHandler: () => new FakePeerHandler(),
  });
  clients.push(client);
  await client.connect();
  return client;
}

/** A fresh `this` for the snippets that run in a component. */
const host = (client: ParleyClient): SnippetHost => ({
  netcall: client.netcall,
  loginUser: { uid: '', account: '', cid: '' },
});

/** alice, and bob on an iPhone and an Android phone, each with the spec's callee snippets. */
async function aliceAndBob() {
  const alice = await signIn('alice', 'web');
  const bob = await signIn('bob', 'ios');
  const bobsOther = await signIn('bob', 'android');
  const said = { alice: new Said('alice'), bob: new Said('bob'), bobsOther: new Said('bob 2') };
  beCallingSnippet(bob.netcall, said.bob);
  beCallingSnippet(bobsOther.netcall, said.bobsOther);
  callerAckSyncSnippet(bobsOther.netcall, said.bobsOther);
  return { alice, bob, bobsOther, said };
}

const TIMETAG = /^\d{13}$/;

describe('the netcall spec snippets against a default Parley node', () => {
  test('every line of every code block of the spec is in the snippets file, in its order', () => {
    const spec = readFileSync(findSpec(), 'utf8');
    const file = readFileSync(SNIPPETS, 'utf8').split('\n');
    const blocks = [...spec.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]!);
    assert.equal(blocks.length, 8);
    for (const block of blocks) {
      let at = 0;
      for (const line of block.split('\n').filter((l) => l.trim() !== '')) {
        const found = file.indexOf(line, at);
        assert.ok(found >= 0, `not verbatim in netcall-spec-snippets.ts: ${JSON.stringify(line)}`);
        at = found + 1;
      }
    }
  });

  test('a video call: call, beCalling, response, callerAckSync, startRtc, hangup', async () => {
    const { alice, bob, bobsOther, said } = await aliceAndBob();
    const aliceHost = host(alice);
    const bobHost = host(bob);
    hangupNoticeSnippet.call(bobHost, bob.netcall, said.bob);
    // The caller opens the media on callAccepted (开启音视频通话), ahead of the spec's listener.
    alice.netcall.on('callAccepted', (obj) => {
      startRtcSnippet.call(aliceHost, aliceHost, said.alice, obj.type);
    });
    const rang = bob.netcall.next('beCalling');
    const clearCallTimer = callerSnippets(alice.netcall, said.alice, 2, 'bob');
    try {
      assert.deepEqual(await said.alice.next('呼叫成功！'), []);

      const [info] = await rang;
      assert.deepEqual(await said.bob.next('beCalling'), []);
      const cid = alice.netcall.cid!;
      assert.ok(cid);
      assert.deepEqual(
        { caller: info.caller, type: info.type, cid: info.cid },
        { caller: 'alice', type: 2, cid },
      );
      assert.deepEqual(await said.bob.next(info), [], 'the snippet logs what beCalling gave');
      assert.equal((await said.bobsOther.next('beCalling')).length, 0);

      // 接听, then the callee's 开启音视频通话 with the mode beCalling gave.
      acceptSnippet(bob.netcall, said.bob, info);
      startRtcSnippet.call(bobHost, bobHost, said.bob, info.type);

      const aliceDevice = alice.deviceId!;
      const bobDevice = bob.deviceId!;
      const member = (account: string, uid: string) => ({
        account,
        uid,
        mode: 2,
        url: `parley:${cid}/${uid}`,
        pusher_secret: '',
        scene: 0,
      });

      const ackSync = await said.bobsOther.data('其他端已经处理了本通通话');
      assert.match(ackSync.timetag as string, TIMETAG);
      assert.deepEqual(
        { ...ackSync, timetag: 'T' },
        { timetag: 'T', cid, type: 2, accepted: true, fromClientType: 'ios' },
      );

      const accepted = await said.alice.data('on 被叫接听了');
      assert.match(accepted.timetag as string, TIMETAG);
      assert.deepEqual(
        { ...accepted, timetag: 'T' },
        { account: 'bob', type: 2, cid, fromClientType: 'ios', timetag: 'T' },
      );

      for (const [who, client] of [
        [said.alice, alice],
        [said.bob, bob],
      ] as const) {
        const self = { uid: client.deviceId, account: client.userId, cid };
        // Twice: the spec starts the media in two of its snippets on each side.
        assert.deepEqual(await who.data('开启音视频成功'), self);
        assert.deepEqual(await who.data('开启音视频成功'), self);
      }
      assert.deepEqual(bobHost.loginUser, { uid: bobDevice, account: 'bob', cid });
      assert.deepEqual(aliceHost.loginUser, { uid: aliceDevice, account: 'alice', cid });

      assert.deepEqual(await said.bob.data('登录成功'), {
        code: 200,
        errmsg: '',
        userlist: [member('bob', bobDevice), member('alice', aliceDevice)],
      });
      assert.deepEqual(await said.alice.data('登录成功'), {
        code: 200,
        errmsg: '',
        userlist: [member('alice', aliceDevice), member('bob', bobDevice)],
      });

      const joined = await said.alice.data('有用户加入');
      assert.ok(joined.stream, 'the media of the other party comes with clientJoin');
      assert.deepEqual(
        { ...joined, stream: null },
        {
          account: 'bob',
          cid,
          mode: 2,
          uid: bobDevice,
          url: `parley:${cid}/${bobDevice}`,
          stream: null,
        },
      );
      assert.equal((await said.bob.data('有用户加入')).uid, aliceDevice);

      // 结束通话 on alice's side; 收到对方的挂断通知 on bob's.
      hangupSnippet(alice.netcall, said.alice);
      assert.deepEqual(await said.alice.next('挂断成功'), []);
      const hungUp = await said.bob.data('hangup--对端挂断了');
      assert.match(hungUp.timetag as string, TIMETAG);
      assert.deepEqual(
        { ...hungUp, timetag: 'T' },
        { timetag: 'T', cid, account: 'alice', reason: 'hangup' },
      );
      // clientLeave (which the spec's snippet logs as 有用户加入 too).
      assert.deepEqual(await said.alice.data('有用户加入'), {
        account: 'bob',
        uid: bobDevice,
        id: bobDevice,
        cid,
        url: `parley:${cid}/${bobDevice}`,
      });
      assert.equal((await said.bob.data('有用户加入')).id, aliceDevice);
      assert.equal(alice.netcall.cid, null);
      assert.equal(bob.netcall.cid, null);
      for (const who of [said.alice, said.bob, said.bobsOther]) {
        assert.doesNotMatch(who.all(), /"(warn|error)"/, 'no snippet reported a failure');
      }
      assert.equal(bobsOther.netcall.cid, null);
    } finally {
      clearCallTimer();
    }
  });

  test('an audio call declined: 拒绝, callRejected, callerAckSync with accepted false', async () => {
    const { alice, bob, said } = await aliceAndBob();
    const rang = bob.netcall.next('beCalling');
    const clearCallTimer = callerSnippets(alice.netcall, said.alice, 1, 'bob');
    try {
      const [info] = await rang;
      assert.equal(info.type, 1);
      rejectSnippet(bob.netcall, said.bob, info);
      assert.deepEqual(await said.bob.next('拒绝成功'), []);
      const rejected = await said.alice.data('被叫拒绝了');
      assert.match(rejected.timetag as string, TIMETAG);
      assert.deepEqual(
        { ...rejected, timetag: 'T' },
        { account: 'bob', type: 1, cid: info.cid, reason: 'rejected', timetag: 'T' },
      );
      const ackSync = await said.bobsOther.data('其他端已经处理了本通通话');
      assert.deepEqual(
        { ...ackSync, timetag: 'T' },
        { timetag: 'T', cid: info.cid, type: 1, accepted: false, fromClientType: 'ios' },
      );
      assert.equal(alice.netcall.cid, null);
    } finally {
      clearCallTimer();
    }
  });
});
