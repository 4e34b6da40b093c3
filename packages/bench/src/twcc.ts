/**
 * The receiving side of transport-wide congestion control (draft-holmer-rmcat-transport-wide-
 * cc-extensions-01), as a browser runs it for each of its transports: read the transport-wide
 * sequence number of every RTP packet that arrives, and send the sender a feedback packet of
 * what arrived when. mediasoup's congestion controller keeps every packet it sent in its send
 * history until feedback acknowledges it (or for 60 s), so a receiver that never answers makes
 * the worker do work that no browser makes it do.
 */

/** The header extension's URI in RTP parameters. */
export const TWCC_URI = 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01';

/** The transport-wide sequence number of an RTP packet, from its one-byte header extension. */
export function twccSequence(rtp: Buffer, extensionId: number): number | undefined {
  if (rtp.length < 12 || (rtp[0]! & 0xc0) !== 0x80 || !(rtp[0]! & 0x10)) return undefined;
  let at = 12 + (rtp[0]! & 0x0f) * 4;
  if (at + 4 > rtp.length || rtp.readUInt16BE(at) !== 0xbede) return undefined;
  const end = Math.min(rtp.length, at + 4 + rtp.readUInt16BE(at + 2) * 4);
  at += 4;
  while (at < end) {
    const b = rtp[at]!;
    if (b === 0) {
      at++; // padding
      continue;
    }
    const id = b >> 4;
    const len = (b & 0x0f) + 1;
    if (id === 15) return undefined;
    if (id === extensionId && len === 2 && at + 3 <= end) return rtp.readUInt16BE(at + 1);
    at += 1 + len;
  }
  return undefined;
}

/** Status symbols of the feedback's packet chunks. */
const NOT_RECEIVED = 0;
const SMALL_DELTA = 1;
const LARGE_DELTA = 2;

/** One transport's receiver: what arrived since the last feedback, and that feedback. */
export class TwccReceiver {
  /** Arrival times (ms) of the packets not yet reported, by unwrapped sequence number. */
  private readonly arrived = new Map<number, number>();
  private last: number | undefined;
  /** The first sequence number the next feedback reports (what follows the last one's end). */
  private nextBase: number | undefined;
  private feedbackCount = 0;

  constructor(
    private readonly senderSsrc: number,
    private readonly mediaSsrc: number,
  ) {}

  /** Notes the arrival at `atMs` of the packet with 16-bit sequence number `seq`. */
  receive(seq: number, atMs: number): void {
    const unwrapped =
      this.last === undefined ? seq : this.last + ((((seq - this.last) & 0xffff) << 16) >> 16);
    if (this.nextBase !== undefined && unwrapped < this.nextBase) return; // already reported
    this.last = this.last === undefined ? unwrapped : Math.max(this.last, unwrapped);
    this.arrived.set(unwrapped, atMs);
  }

  /** The RTCP transport-cc feedback for what arrived since the last one, or none. */
  feedback(): Buffer | undefined {
    if (this.arrived.size === 0 || this.last === undefined) return undefined;
    const base = this.nextBase ?? Math.min(...this.arrived.keys());
    const count = this.last - base + 1;
    const firstAt = Math.min(...this.arrived.values());
    const reference = Math.floor(firstAt / 64);
    const symbols: number[] = [];
    const deltas: number[] = [];
    let prev = reference * 64;
    for (let s = base; s <= this.last; s++) {
      const at = this.arrived.get(s);
      if (at === undefined) {
        symbols.push(NOT_RECEIVED);
        continue;
      }
      const delta = Math.round((at - prev) * 4); // 250 µs units
      prev = at;
      const small = delta >= 0 && delta <= 0xff;
      symbols.push(small ? SMALL_DELTA : LARGE_DELTA);
      deltas.push(small ? delta : Math.max(-0x8000, Math.min(0x7fff, delta)));
    }
    const chunks = Math.ceil(count / 7);
    const deltaBytes = symbols.reduce((n, s) => n + (s === SMALL_DELTA ? 1 : s ? 2 : 0), 0);
    const bytes = 20 + chunks * 2 + deltaBytes;
    const out = Buffer.alloc(Math.ceil(bytes / 4) * 4); // zero padding to 32 bits
    out[0] = 0x80 | 15; // V=2, FMT=15
    out[1] = 205; // RTPFB
    out.writeUInt16BE(out.length / 4 - 1, 2);
    out.writeUInt32BE(this.senderSsrc, 4);
    out.writeUInt32BE(this.mediaSsrc, 8);
    out.writeUInt16BE(base & 0xffff, 12);
    out.writeUInt16BE(count, 14);
    out.writeUIntBE(reference & 0xffffff, 16, 3);
    out[19] = this.feedbackCount++ & 0xff;
    let at = 20;
    for (let c = 0; c < chunks; c++) {
      // A status vector chunk of seven two-bit symbols (T=1, S=1).
      let chunk = 0xc000;
      for (let k = 0; k < 7; k++) chunk |= (symbols[c * 7 + k] ?? 0) << (12 - 2 * k);
      out.writeUInt16BE(chunk, at);
      at += 2;
    }
    let d = 0;
    for (const s of symbols) {
      if (s === SMALL_DELTA) out[at++] = deltas[d++]!;
      else if (s === LARGE_DELTA) at = out.writeInt16BE(deltas[d++]!, at);
    }
    this.nextBase = this.last + 1;
    this.arrived.clear();
    return out;
  }
}
