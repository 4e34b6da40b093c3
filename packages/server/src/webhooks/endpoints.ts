import type { Config } from '../config/index.ts';
import type { WebhookEventType } from '../core/index.ts';

/** Where events go: a name, a URL, its Standard Webhooks secret, the events it wants. */
export interface WebhookEndpoint {
  name: string;
  url: string;
  /** `whsec_<base64>`. */
  secret: string;
  /** null: every event. */
  events: ReadonlySet<WebhookEventType> | null;
}

/** The endpoints of the configuration: `webhooks.endpoints`, and `default` from PARLEY_WEBHOOK_URL. */
export function endpointsOf(c: Config['webhooks']): WebhookEndpoint[] {
  const out: WebhookEndpoint[] = c.endpoints.map((e) => ({
    name: e.name,
    url: e.url,
    secret: e.secret,
    events: e.events ? new Set(e.events) : null,
  }));
  if (c.url !== undefined && c.secret !== undefined)
    out.unshift({ name: 'default', url: c.url, secret: c.secret, events: null });
  return out;
}
