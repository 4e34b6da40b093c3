import { ParleyClient, type BeCallingEvent, type Call } from '@parley/client';

/**
 * A tiny app written as a user of the SDK writes one: npm-pack-vite.test.ts builds it with Vite
 * against the SDK installed from its `npm pack` tarball. `?token=` signs in, `?callee=` calls
 * that user (audio), an incoming call is answered with the Answer button. What happens shows as
 * data-* attributes of #status, which the test waits for. The caller also follows its call
 * through the Call object behind netcall (`peer`: who answered, from its own events).
 */

const params = new URLSearchParams(location.search);
const status = document.getElementById('status')!;
const answerButton = document.getElementById('answer')!;
const show = (key: string, value: string) => {
  status.dataset[key] = value;
};
const fail = (e: unknown) => show('error', e instanceof Error ? e.message : String(e));

const client = new ParleyClient({ token: params.get('token') ?? '' });
const nc = client.netcall;

const answer = async (call: BeCallingEvent) => {
  await nc.response({ ...call, accepted: true });
  show('call', 'accepted');
  await nc.startRtc();
};

nc.on('localStream', () => show('local', 'ready'));
nc.on('mediaState', (state) => show('media', state));
nc.on('clientJoin', (e) => show('tracks', String(e.stream.getTracks().length)));
nc.on('beCalling', (call) => {
  show('ringing', call.caller);
  answerButton.onclick = () => answer(call).catch(fail);
});
nc.on('callAccepted', () => {
  show('call', 'accepted');
  nc.startRtc().catch(fail);
});

client
  .connect()
  .then(async () => {
    show('user', client.userId);
    const callee = params.get('callee');
    if (!callee) return;
    await nc.call({ type: 1, callee });
    const call: Call | null = nc.currentCall;
    call?.on('joined', ({ remote }) => show('peer', remote?.account ?? ''));
  })
  .catch(fail);
