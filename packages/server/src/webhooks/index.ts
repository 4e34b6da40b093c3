// Webhooks: events written to the store's outbox with the changes they announce, delivered
// signed (Standard Webhooks), in order per call and meeting, at least once.
export { Webhooks, type WebhooksOptions } from './service.ts';
export { endpointsOf, type WebhookEndpoint } from './endpoints.ts';
export { Signer } from './signer.ts';
export { retryDelay } from './backoff.ts';
export { announcingDirectory } from './presence-events.ts';
