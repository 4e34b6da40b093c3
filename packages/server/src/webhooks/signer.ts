import { Webhook } from 'standardwebhooks';

/** The headers of one delivery attempt, as Standard Webhooks specifies them. */
export interface SignedHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/**
 * Signs deliveries with an endpoint's `whsec_` secret: HMAC-SHA256 over
 * `{id}.{timestamp}.{body}` (the reference library's own `sign`), timestamped at the attempt
 * so that a receiver's replay window holds for retries too.
 */
export class Signer {
  private readonly wh: Webhook;

  constructor(secret: string) {
    this.wh = new Webhook(secret);
  }

  headers(msgId: string, body: string, now: number): SignedHeaders {
    const at = new Date(now);
    return {
      'webhook-id': msgId,
      'webhook-timestamp': String(Math.floor(now / 1000)),
      'webhook-signature': this.wh.sign(msgId, at, body),
    };
  }
}
