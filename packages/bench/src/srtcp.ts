import { createCipheriv, createHmac } from 'node:crypto';

/**
 * SRTCP with AES_CM_128_HMAC_SHA1_80 (RFC 3711), the sending side only: what the bench's sink
 * needs to send RTCP feedback that a mediasoup PlainTransport with SRTP accepts. Node's crypto
 * has the primitives (AES-128 in counter mode, HMAC-SHA1) but no SRTP, and the bench needs
 * nothing else of it.
 */

/** RFC 3711 §4.3.2: the labels of the SRTCP session keys. */
const LABEL_ENCRYPTION = 0x03;
const LABEL_AUTH = 0x04;
const LABEL_SALT = 0x05;

/** The 80-bit authentication tag of this crypto suite. */
const TAG_BYTES = 10;

/**
 * The key derivation of RFC 3711 §4.3 with a key derivation rate of 0: `bytes` of AES-CM
 * keystream under the master key, from the master salt with the label in its eighth byte.
 */
export function deriveKey(masterKey: Buffer, masterSalt: Buffer, label: number, bytes: number) {
  const iv = Buffer.alloc(16);
  masterSalt.copy(iv, 0, 0, 14);
  iv[7]! ^= label;
  return createCipheriv('aes-128-ctr', masterKey, iv).update(Buffer.alloc(bytes));
}

/** Protects RTCP packets sent under one master key (a PlainTransport's `srtpParameters`). */
export class SrtcpSender {
  private readonly key: Buffer;
  private readonly auth: Buffer;
  private readonly salt: Buffer;
  /** The SRTCP index of the next packet (31 bits; the bench never sends 2^31 packets). */
  private index = 0;

  /** `keyBase64`: the 30 bytes of master key (16) and master salt (14), as mediasoup takes them. */
  constructor(keyBase64: string) {
    const master = Buffer.from(keyBase64, 'base64');
    const key = master.subarray(0, 16);
    const salt = master.subarray(16, 30);
    this.key = deriveKey(key, salt, LABEL_ENCRYPTION, 16);
    this.auth = deriveKey(key, salt, LABEL_AUTH, 20);
    this.salt = deriveKey(key, salt, LABEL_SALT, 14);
  }

  /**
   * The SRTCP packet for one RTCP packet (compound or not): the first 8 bytes (header and
   * sender SSRC) in the clear, the rest encrypted, then the E flag with the index and the tag.
   */
  protect(rtcp: Buffer): Buffer {
    const index = this.index++ & 0x7fffffff;
    const iv = Buffer.alloc(16);
    this.salt.copy(iv);
    for (let i = 0; i < 4; i++) {
      iv[4 + i]! ^= rtcp[4 + i]!; // the sender SSRC
      iv[10 + i]! ^= (index >>> (24 - 8 * i)) & 0xff;
    }
    const out = Buffer.alloc(rtcp.length + 4 + TAG_BYTES);
    rtcp.copy(out, 0, 0, 8);
    createCipheriv('aes-128-ctr', this.key, iv).update(rtcp.subarray(8)).copy(out, 8);
    out.writeUInt32BE((0x80000000 | index) >>> 0, rtcp.length);
    const authenticated = out.subarray(0, rtcp.length + 4);
    createHmac('sha1', this.auth)
      .update(authenticated)
      .digest()
      .copy(out, rtcp.length + 4, 0, TAG_BYTES);
    return out;
  }
}
