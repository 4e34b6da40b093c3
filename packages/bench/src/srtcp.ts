import { createCipheriv, createHmac } from 'node:crypto';

/**
 * SRTCP, the sending side only: what the bench's sink needs to send RTCP feedback that a
 * mediasoup PlainTransport with SRTP accepts, in the crypto suites a browser negotiates:
 * AES_CM_128_HMAC_SHA1_80 (RFC 3711) and AEAD_AES_256_GCM / AEAD_AES_128_GCM (RFC 7714).
 * Node's crypto has the primitives (AES in counter and GCM modes, HMAC-SHA1) but no SRTP, and
 * the bench needs nothing else of it.
 */

/** The crypto suites SrtcpSender speaks (mediasoup's names). */
export type SrtcpSuite = 'AES_CM_128_HMAC_SHA1_80' | 'AEAD_AES_256_GCM' | 'AEAD_AES_128_GCM';

/** Per suite: master key and master salt lengths (bytes), as mediasoup's `keyBase64` holds them. */
export const SUITE_KEYS: Record<SrtcpSuite, { key: number; salt: number }> = {
  AES_CM_128_HMAC_SHA1_80: { key: 16, salt: 14 },
  AEAD_AES_256_GCM: { key: 32, salt: 12 },
  AEAD_AES_128_GCM: { key: 16, salt: 12 },
};

/** RFC 3711 §4.3.2: the labels of the SRTCP session keys. */
const LABEL_ENCRYPTION = 0x03;
const LABEL_AUTH = 0x04;
const LABEL_SALT = 0x05;

/** The 80-bit authentication tag of AES_CM_128_HMAC_SHA1_80. */
const HMAC_TAG_BYTES = 10;

/**
 * The key derivation of RFC 3711 §4.3 with a key derivation rate of 0: `bytes` of AES-CM
 * keystream under the master key (AES-128 or AES-256 by its length), from the master salt with
 * the label in its eighth byte. RFC 7714's 12-byte salts take the first 12 bytes of the 14 (the
 * rest zero), as libsrtp pads them.
 */
export function deriveKey(masterKey: Buffer, masterSalt: Buffer, label: number, bytes: number) {
  const iv = Buffer.alloc(16);
  masterSalt.copy(iv, 0, 0, 14);
  iv[7]! ^= label;
  const cipher = masterKey.length === 32 ? 'aes-256-ctr' : 'aes-128-ctr';
  return createCipheriv(cipher, masterKey, iv).update(Buffer.alloc(bytes));
}

/** Protects RTCP packets sent under one master key (a PlainTransport's `srtpParameters`). */
export class SrtcpSender {
  private readonly key: Buffer;
  private readonly auth: Buffer;
  private readonly salt: Buffer;
  private readonly gcm: boolean;
  /** The SRTCP index of the next packet (31 bits; the bench never sends 2^31 packets). */
  private index = 0;

  /** `keyBase64`: the master key then the master salt, as mediasoup takes them for `suite`. */
  constructor(keyBase64: string, suite: SrtcpSuite = 'AES_CM_128_HMAC_SHA1_80') {
    const lengths = SUITE_KEYS[suite];
    const master = Buffer.from(keyBase64, 'base64');
    if (master.length !== lengths.key + lengths.salt) {
      throw new Error(`${suite} takes ${lengths.key + lengths.salt} bytes of key and salt`);
    }
    const key = master.subarray(0, lengths.key);
    const salt = master.subarray(lengths.key);
    this.gcm = suite !== 'AES_CM_128_HMAC_SHA1_80';
    this.key = deriveKey(key, salt, LABEL_ENCRYPTION, lengths.key);
    this.auth = this.gcm ? Buffer.alloc(0) : deriveKey(key, salt, LABEL_AUTH, 20);
    this.salt = deriveKey(key, salt, LABEL_SALT, lengths.salt);
  }

  /**
   * The SRTCP packet for one RTCP packet (compound or not): the first 8 bytes (header and
   * sender SSRC) in the clear, the rest encrypted; then, with AES-CM, the E flag with the index
   * and the HMAC tag; with AES-GCM, the tag and then the E flag with the index (RFC 7714 §9).
   */
  protect(rtcp: Buffer): Buffer {
    const index = this.index++ & 0x7fffffff;
    const eIndex = (0x80000000 | index) >>> 0;
    return this.gcm ? this.protectGcm(rtcp, index, eIndex) : this.protectCm(rtcp, index, eIndex);
  }

  private protectCm(rtcp: Buffer, index: number, eIndex: number): Buffer {
    const iv = Buffer.alloc(16);
    this.salt.copy(iv);
    for (let i = 0; i < 4; i++) {
      iv[4 + i]! ^= rtcp[4 + i]!; // the sender SSRC
      iv[10 + i]! ^= (index >>> (24 - 8 * i)) & 0xff;
    }
    const out = Buffer.alloc(rtcp.length + 4 + HMAC_TAG_BYTES);
    rtcp.copy(out, 0, 0, 8);
    createCipheriv('aes-128-ctr', this.key, iv).update(rtcp.subarray(8)).copy(out, 8);
    out.writeUInt32BE(eIndex, rtcp.length);
    const authenticated = out.subarray(0, rtcp.length + 4);
    createHmac('sha1', this.auth)
      .update(authenticated)
      .digest()
      .copy(out, rtcp.length + 4, 0, HMAC_TAG_BYTES);
    return out;
  }

  /** RFC 7714 §9: IV = salt ⊕ (00 00 SSRC 00 00 index), AAD = header, SSRC and E|index. */
  private protectGcm(rtcp: Buffer, index: number, eIndex: number): Buffer {
    const iv = Buffer.from(this.salt);
    for (let i = 0; i < 4; i++) {
      iv[2 + i]! ^= rtcp[4 + i]!;
      iv[8 + i]! ^= (index >>> (24 - 8 * i)) & 0xff;
    }
    const trailer = Buffer.alloc(4);
    trailer.writeUInt32BE(eIndex);
    const cipher = createCipheriv(
      this.key.length === 32 ? 'aes-256-gcm' : 'aes-128-gcm',
      this.key,
      iv,
    );
    cipher.setAAD(Buffer.concat([rtcp.subarray(0, 8), trailer]));
    const body = cipher.update(rtcp.subarray(8));
    cipher.final();
    return Buffer.concat([rtcp.subarray(0, 8), body, cipher.getAuthTag(), trailer]);
  }
}
