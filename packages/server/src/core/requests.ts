import type { Command } from '@parley/protocol';
import type { BusMessage } from './bus.ts';
import type { Sender } from './sender.ts';

/** Bus messages that expect a reply. */
export type BusRequest = Extract<BusMessage, { corr: string; replyTo: string }>;

/** What runs a command that another node forwarded here. */
export type LocalRunner = (sender: Sender, command: Command) => unknown;

/**
 * Requests between nodes over the bus and their replies (the cluster's Rpc implements it):
 * a command run on the node that owns what it names, or any other request a router answers.
 */
export interface Requests {
  /** Runs `command` on `nodeId` for `sender`; resolves with its result or rejects with its error. */
  request(nodeId: string, sender: Sender, command: Command): Promise<unknown>;
  /** Sends the request `build` makes (with a correlation id) and waits for its reply. */
  ask(nodeId: string, build: (corr: string, replyTo: string) => BusRequest): Promise<unknown>;
  /** Runs a forwarded command here and sends the outcome back. */
  serve(m: Extract<BusMessage, { kind: 'command' }>, run: LocalRunner): void;
  /** Does the work a request asks for here and sends the outcome (or typed error) back. */
  answer(m: BusRequest, context: string, work: () => unknown): void;
}
