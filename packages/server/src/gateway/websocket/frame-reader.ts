import { isUtf8 } from 'node:buffer';
import { Op } from './frames.ts';

/** Close codes a reader gives when a client breaks the protocol (RFC 6455 §7.4.1). */
const ProtocolClose = {
  /** A frame RFC 6455 forbids (unmasked, reserved bits or opcodes, a bad control frame). */
  ProtocolError: 1002,
  /** A text message or close reason that is not UTF-8. */
  InvalidPayload: 1007,
  /** A message larger than the reader's cap. */
  TooBig: 1009,
} as const;

/** What a reader hands on: one call per message or control frame, in order. */
export interface FrameSink {
  /** A whole data message (fragments joined), unmasked; text is checked to be UTF-8. */
  message(data: Buffer, binary: boolean): void;
  /** A ping: its payload, for the pong. */
  pinged(data: Buffer): void;
  ponged(): void;
  /** The client's close frame (1005: it named no code). Nothing after it is read. */
  closeFrame(code: number, reason: string): void;
  /** The client broke the protocol; nothing after it is read. */
  fail(code: number, reason: string): void;
}

/** Fragments one message may come in: a bound on the bookkeeping a client can make us keep. */
const MAX_FRAGMENTS = 1024;

/** Whether a client may send `code` in a close frame (RFC 6455 §7.4; 1004–1006, 1015 never). */
function validCloseCode(code: number): boolean {
  return (
    (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
    (code >= 3000 && code <= 4999)
  );
}

/** XORs a frame's payload in place with its 4-byte mask. */
function unmask(buf: Buffer, start: number, end: number, maskAt: number): void {
  const m0 = buf[maskAt]!;
  const m1 = buf[maskAt + 1]!;
  const m2 = buf[maskAt + 2]!;
  const m3 = buf[maskAt + 3]!;
  let i = start;
  for (; i + 3 < end; i += 4) {
    buf[i] = buf[i]! ^ m0;
    buf[i + 1] = buf[i + 1]! ^ m1;
    buf[i + 2] = buf[i + 2]! ^ m2;
    buf[i + 3] = buf[i + 3]! ^ m3;
  }
  for (let k = maskAt; i < end; i++, k++) buf[i] = buf[i]! ^ buf[k]!;
}

/**
 * Reads the frames a client sends over a server's WebSocket (RFC 6455 §5), chunk by chunk as
 * the TCP socket delivers them. A frame that arrives whole in one chunk, the usual case, is
 * unmasked where it lies and handed on as a view of the chunk: no copy. Bytes of an incomplete
 * frame are kept, and joined once when the frame is complete, not on every chunk. A message
 * larger than `maxPayload` is refused from its header, before its bytes are kept.
 */
export class FrameReader {
  /** Bytes of the next frame, not yet complete (chunks as they came). */
  private kept: Buffer[] = [];
  private keptBytes = 0;
  /** How many kept bytes the next step needs: a whole header, then the whole frame. */
  private needed = 2;
  /** The data message being fragmented: its opcode and fragments so far (none: 0). */
  private fragmentOp = 0;
  private fragments: Buffer[] = [];
  private fragmentBytes = 0;
  /** After a close frame or a protocol error, nothing more is read. */
  private done = false;

  constructor(
    private readonly maxPayload: number,
    private readonly sink: FrameSink,
  ) {}

  push(chunk: Buffer): void {
    if (this.done) return;
    if (this.keptBytes === 0) {
      this.read(chunk);
      return;
    }
    this.kept.push(chunk);
    this.keptBytes += chunk.length;
    if (this.keptBytes < this.needed) return;
    const joined = Buffer.concat(this.kept, this.keptBytes);
    this.kept = [];
    this.keptBytes = 0;
    this.read(joined);
  }

  /** Reads every whole frame of `buf`, and keeps what is left of it. */
  private read(buf: Buffer): void {
    let at = 0;
    while (!this.done) {
      const used = this.frame(buf, at);
      if (used === 0) break;
      at += used;
    }
    if (!this.done && at < buf.length) {
      const rest = at === 0 ? buf : buf.subarray(at);
      this.kept.push(rest);
      this.keptBytes = rest.length;
    }
  }

  /**
   * Reads the frame at `at`: the bytes it took, or 0 when it is not all here yet (`needed`
   * then says how many bytes from `at` it takes, as far as the header tells).
   */
  private frame(buf: Buffer, at: number): number {
    const have = buf.length - at;
    if (have < 2) {
      this.needed = 2;
      return 0;
    }
    const b0 = buf[at]!;
    const b1 = buf[at + 1]!;
    const fin = (b0 & 0x80) !== 0;
    const op = b0 & 0x0f;
    if ((b0 & 0x70) !== 0) return this.fail(ProtocolClose.ProtocolError, 'reserved bits set');
    if ((b1 & 0x80) === 0) return this.fail(ProtocolClose.ProtocolError, 'unmasked frame');
    const control = op >= Op.Close;
    if (control) {
      if (op > Op.Pong) return this.fail(ProtocolClose.ProtocolError, `opcode ${op}`);
      if (!fin) return this.fail(ProtocolClose.ProtocolError, 'fragmented control frame');
    } else if (op > Op.Binary) {
      return this.fail(ProtocolClose.ProtocolError, `opcode ${op}`);
    } else if ((op === Op.Continuation) === (this.fragmentOp === 0)) {
      return this.fail(
        ProtocolClose.ProtocolError,
        op === Op.Continuation ? 'continuation of nothing' : 'new message inside a fragmented one',
      );
    }
    let length = b1 & 0x7f;
    let head = 2;
    if (length === 126) {
      if (have < 4) return this.need(4);
      length = buf.readUInt16BE(at + 2);
      head = 4;
    } else if (length === 127) {
      if (have < 10) return this.need(10);
      const high = buf.readUInt32BE(at + 2);
      // Anything past 4 GiB is far over any cap; the high word alone says so.
      length = high === 0 ? buf.readUInt32BE(at + 6) : Number.MAX_SAFE_INTEGER;
      head = 10;
    }
    if (control && length > 125) {
      return this.fail(ProtocolClose.ProtocolError, 'control frame over 125 bytes');
    }
    if (!control && this.fragmentBytes + length > this.maxPayload) {
      return this.fail(ProtocolClose.TooBig, 'message too big');
    }
    const size = head + 4 + length;
    if (have < size) return this.need(size);
    const start = at + head + 4;
    const end = start + length;
    unmask(buf, start, end, at + head);
    const payload = buf.subarray(start, end);
    if (control) this.control(op, payload);
    else this.data(op, fin, payload);
    return size;
  }

  private need(bytes: number): 0 {
    this.needed = bytes;
    return 0;
  }

  private data(op: number, fin: boolean, payload: Buffer): void {
    if (!fin) {
      if (this.fragments.length >= MAX_FRAGMENTS) {
        this.fail(ProtocolClose.TooBig, 'too many fragments');
        return;
      }
      if (op !== Op.Continuation) this.fragmentOp = op;
      // A fragment is a view of a chunk that the next frames may share: keep a copy.
      this.fragments.push(Buffer.from(payload));
      this.fragmentBytes += payload.length;
      return;
    }
    let message = payload;
    if (op === Op.Continuation) {
      op = this.fragmentOp;
      this.fragments.push(payload);
      message = Buffer.concat(this.fragments, this.fragmentBytes + payload.length);
      this.fragments = [];
      this.fragmentBytes = 0;
      this.fragmentOp = 0;
    }
    const binary = op === Op.Binary;
    if (!binary && !isUtf8(message)) {
      this.fail(ProtocolClose.InvalidPayload, 'text that is not UTF-8');
      return;
    }
    this.sink.message(message, binary);
  }

  private control(op: number, payload: Buffer): void {
    if (op === Op.Ping) this.sink.pinged(payload);
    else if (op === Op.Pong) this.sink.ponged();
    else if (payload.length === 0) this.close(1005, '');
    else if (payload.length === 1) this.fail(ProtocolClose.ProtocolError, 'close code cut short');
    else {
      const code = payload.readUInt16BE(0);
      const reason = payload.subarray(2);
      if (!validCloseCode(code)) this.fail(ProtocolClose.ProtocolError, `close code ${code}`);
      else if (!isUtf8(reason)) this.fail(ProtocolClose.InvalidPayload, 'close reason not UTF-8');
      else this.close(code, reason.toString());
    }
  }

  private close(code: number, reason: string): void {
    this.stop();
    this.sink.closeFrame(code, reason);
  }

  private fail(code: number, reason: string): 0 {
    this.stop();
    this.sink.fail(code, reason);
    return 0;
  }

  private stop(): void {
    this.done = true;
    this.kept = [];
    this.keptBytes = 0;
    this.fragments = [];
    this.fragmentBytes = 0;
  }
}
