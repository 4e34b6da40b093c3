import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

/** One delivery as the receiver saw it. */
export interface Delivery {
  headers: IncomingHttpHeaders;
  body: string;
  event: { type: string; timestamp: string; data: Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** Whether it verified with the Standard Webhooks reference library and the secret. */
  verified: boolean;
}

/**
 * A real HTTP webhook receiver (node:http) on a fixed port: it can go down (the port closed:
 * connections refused) and come back on the same port, refuse (HTTP 500), and look at each
 * event before it answers (`inspect`).
 */
export class WebhookReceiver {
  readonly deliveries: Delivery[] = [];
  /** The bodies of the attempts refused (`refuse`). */
  readonly refused: string[] = [];
  /** Answer 500 instead of 204. */
  refuse = false;
  /** Runs on each delivery before the answer (e.g. reads Parley's API). */
  inspect: ((d: Delivery) => Promise<void>) | null = null;
  private server: Server | null = null;
  private readonly verifier: Webhook;

  private constructor(
    readonly secret: string,
    public port: number,
  ) {
    this.verifier = new Webhook(secret);
  }

  /** Listens on a free port. */
  static async start(secret: string): Promise<WebhookReceiver> {
    const r = new WebhookReceiver(secret, 0);
    await r.up();
    return r;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks`;
  }

  /** Listens (again) on its port. */
  async up(): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        void (async () => {
          const body = Buffer.concat(chunks).toString('utf8');
          if (this.refuse) {
            this.refused.push(body);
            res.writeHead(500).end();
            return;
          }
          let verified = true;
          try {
            this.verifier.verify(body, req.headers as Record<string, string>);
          } catch {
            verified = false;
          }
          const d: Delivery = {
            headers: req.headers,
            body,
            event: JSON.parse(body) as Delivery['event'],
            verified,
          };
          await this.inspect?.(d);
          this.deliveries.push(d);
          res.writeHead(204).end();
        })();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Stops listening: deliveries are refused at the TCP level until `up()`. */
  async down(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }

  /** The events of a stream's deliveries (`call:<id>`: data.callId, `meeting:<id>`: data.meetingId). */
  of(key: 'callId' | 'meetingId', id: string): Delivery[] {
    return this.deliveries.filter((d) => d.event.data[key] === id);
  }

  /** The distinct events of `list` by webhook-id, in first-arrival order (at least once). */
  static distinct(list: readonly Delivery[]): Delivery[] {
    const seen = new Set<string>();
    return list.filter((d) => {
      const id = String(d.headers['webhook-id']);
      if (seen.has(id)) return false;
      seen.add(id);
      return true;
    });
  }
}
