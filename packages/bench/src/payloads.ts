import { performance } from 'node:perf_hooks';

/**
 * The signaling payloads both servers relay: a browser-like SDP (~1.5 KB, audio + video) and
 * ICE candidates (~100 B). Each carries a send timestamp, `@@` + 12 digits of µs on this
 * process's monotonic clock, at a fixed width so that every message of a kind has the same size.
 */

export const STAMP = '@@';
const STAMP_BYTES = Buffer.from(STAMP);
const PLACEHOLDER = `${STAMP}TTTTTTTTTTTT`;

/** The current time as a fixed-width stamp (µs since this process started, 12 digits). */
export function stamp(): string {
  return stampAt(performance.now());
}

/** `at` (a performance.now() reading, ms) as a stamp: open-loop sends carry their scheduled time. */
export function stampAt(at: number): string {
  return String(Math.round(at * 1000)).padStart(12, '0');
}

/** Milliseconds since the stamp in `frame` was taken, or NaN if it has none. */
export function ageMs(frame: Buffer, now: number): number {
  return now - stampMs(frame);
}

/** The stamp in `frame` as a performance.now() reading (ms), or NaN if it has none. */
export function stampMs(frame: Buffer): number {
  const i = frame.indexOf(STAMP_BYTES);
  if (i < 0 || i + 14 > frame.length) return NaN;
  let us = 0;
  for (let j = i + 2; j < i + 14; j++) us = us * 10 + frame[j]! - 48;
  return us / 1000;
}

const FP =
  '7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08';

function sdp(setup: 'actpass' | 'active'): string {
  const media = (kind: string, mid: number, fmts: string, lines: string[]) => [
    `m=${kind} 9 UDP/TLS/RTP/SAVPF ${fmts}`,
    'c=IN IP4 0.0.0.0',
    'a=rtcp:9 IN IP4 0.0.0.0',
    'a=ice-ufrag:sYUd',
    'a=ice-pwd:H0uJ2mk0rLOFpA5xPXmDq9cN',
    'a=ice-options:trickle',
    `a=fingerprint:sha-256 ${FP}`,
    `a=setup:${setup}`,
    `a=mid:${mid}`,
    'a=sendrecv',
    `a=msid:stream ${kind}0`,
    'a=rtcp-mux',
    ...lines,
  ];
  return [
    'v=0',
    `o=- ${PLACEHOLDER} 2 IN IP4 127.0.0.1`,
    's=-',
    't=0 0',
    'a=group:BUNDLE 0 1',
    'a=extmap-allow-mixed',
    'a=msid-semantic: WMS stream',
    ...media('audio', 0, '111 63 9 0 8 13 110 126', [
      'a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level',
      'a=rtpmap:111 opus/48000/2',
      'a=rtcp-fb:111 transport-cc',
      'a=fmtp:111 minptime=10;useinbandfec=1',
      'a=rtpmap:63 red/48000/2',
      'a=rtpmap:9 G722/8000',
      'a=rtpmap:0 PCMU/8000',
      'a=rtpmap:8 PCMA/8000',
      'a=ssrc:3735928559 cname:parleybench',
    ]),
    ...media('video', 1, '96 97 102 103', [
      'a=rtcp-rsize',
      'a=rtpmap:96 VP8/90000',
      'a=rtcp-fb:96 goog-remb',
      'a=rtcp-fb:96 transport-cc',
      'a=rtcp-fb:96 ccm fir',
      'a=rtcp-fb:96 nack',
      'a=rtcp-fb:96 nack pli',
      'a=rtpmap:97 rtx/90000',
      'a=fmtp:97 apt=96',
      'a=rtpmap:102 H264/90000',
      'a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
      'a=rtpmap:103 rtx/90000',
      'a=fmtp:103 apt=102',
      'a=ssrc-group:FID 1111111111 2222222222',
      'a=ssrc:1111111111 cname:parleybench',
      'a=ssrc:2222222222 cname:parleybench',
    ]),
    '',
  ].join('\r\n');
}

export const OFFER_SDP = sdp('actpass');
export const ANSWER_SDP = sdp('active');

/** An RTCIceCandidateInit; `n` varies the address so that the four of a trickle differ. */
export function candidate(n: number): {
  candidate: string;
  sdpMid: string;
  sdpMLineIndex: number;
  usernameFragment: string;
} {
  return {
    candidate: `candidate:${PLACEHOLDER} 1 udp 2122260223 192.168.1.${20 + n} 5${4321 + n} typ host generation 0 ufrag sYUd network-id 1`,
    sdpMid: '0',
    sdpMLineIndex: 0,
    usernameFragment: 'sYUd',
  };
}

/**
 * A server-reflexive candidate, the kind a browser behind NAT trickles after its host ones:
 * with its related address, a relayed ICE message of it is about 300 bytes.
 */
export function srflxCandidate(n: number): ReturnType<typeof candidate> {
  return {
    candidate:
      `candidate:${PLACEHOLDER} 1 udp 1686052607 203.0.113.${20 + n} ${61000 + n} typ srflx ` +
      `raddr 192.168.1.${20 + n} rport ${54321 + n} generation 0 ufrag sYUd network-id 1 network-cost 10`,
    sdpMid: '0',
    sdpMLineIndex: 0,
    usernameFragment: 'sYUd',
  };
}

/** A frame template with one stamp slot: `make()` returns it with the current time filled in. */
export class Template {
  private readonly head: string;
  private readonly rest: string;

  constructor(frame: unknown) {
    const text = JSON.stringify(frame);
    const at = text.indexOf(PLACEHOLDER);
    if (at < 0 || text.indexOf(PLACEHOLDER, at + 1) >= 0) throw new Error('one stamp per frame');
    this.head = text.slice(0, at + STAMP.length);
    this.rest = text.slice(at + PLACEHOLDER.length);
  }

  /** The frame stamped `ts` (one stamp may serve a burst sent at once). */
  make(ts = stamp()): string {
    return this.head + ts + this.rest;
  }
}
