/**
 * The moments of a join that the meeting page records (performance.now(), first occurrence
 * each), and the steps `parley bench-sfu` breaks a join into. Shared by the page and the bench.
 */
export type JoinMark =
  /** join() called. */
  | 'start'
  /** The signaling connection is open. */
  | 'signaling'
  /** rtc:getRouterRtpCapabilities answered. */
  | 'capabilities'
  /** device.load() done. */
  | 'loaded'
  /** rtc:join answered. */
  | 'joined'
  /** Both transports created (rtc:createTransport answered, the client's transport made). */
  | 'transports'
  /** rtc:consume of the remote video answered. */
  | 'consumed'
  /** The recv transport's 'connect' event: rtc:connectTransport sent. */
  | 'connect'
  /** rtc:connectTransport answered. */
  | 'connectReply'
  /** recvTransport.consume() of the remote video resolved. */
  | 'consumer'
  /** rtc:resumeConsumer of the remote video answered. */
  | 'resumed'
  /** The recv transport's connection state is 'connected' (ICE and DTLS done). */
  | 'dtls'
  /** The remote video track unmuted: its first RTP packet arrived. */
  | 'rtp'
  /** The last packet of the first frame shown arrived (a key frame: nothing decodes before). */
  | 'keyFrame'
  /** That frame decoded. */
  | 'decoded'
  /** That frame presented (requestVideoFrameCallback). */
  | 'presented';

/** One step of a join: from the latest of `from` to `to`. */
export interface JoinStep {
  name: string;
  from: readonly JoinMark[];
  to: JoinMark;
}

/**
 * The steps, in the order a join goes through them. Some run side by side (rtc:join beside the
 * capabilities and device.load, the recv transport's connect inside its first consume, ICE and
 * DTLS beside the resume), so their durations do not add up to the total.
 */
export const JOIN_STEPS: readonly JoinStep[] = [
  { name: 'signaling connect', from: ['start'], to: 'signaling' },
  { name: 'rtc:getRouterRtpCapabilities', from: ['signaling'], to: 'capabilities' },
  { name: 'device.load', from: ['capabilities'], to: 'loaded' },
  { name: 'rtc:join (beside the two above)', from: ['signaling'], to: 'joined' },
  { name: 'rtc:createTransport ×2', from: ['loaded', 'joined'], to: 'transports' },
  { name: 'rtc:consume audio+video', from: ['transports'], to: 'consumed' },
  { name: 'recvTransport.consume (SDP)', from: ['consumed'], to: 'consumer' },
  { name: '  of which rtc:connectTransport', from: ['connect'], to: 'connectReply' },
  { name: 'rtc:resumeConsumer', from: ['consumer'], to: 'resumed' },
  { name: 'ICE + DTLS', from: ['connectReply'], to: 'dtls' },
  { name: 'first RTP (after resume, DTLS)', from: ['resumed', 'dtls'], to: 'rtp' },
  { name: 'first key frame received', from: ['rtp'], to: 'keyFrame' },
  { name: 'decode', from: ['keyFrame'], to: 'decoded' },
  { name: 'present', from: ['decoded'], to: 'presented' },
  { name: 'join → first frame', from: ['start'], to: 'presented' },
];

/** A step's duration in one join's marks, ms; NaN when a mark is missing. */
export function stepMs(step: JoinStep, marks: Partial<Record<JoinMark, number>>): number {
  const to = marks[step.to];
  const from = step.from.map((m) => marks[m]);
  if (to === undefined || from.some((t) => t === undefined)) return NaN;
  return to - Math.max(...(from as number[]));
}
