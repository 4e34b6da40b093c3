import type { CallSelector, Command, InviteCommand, RtcCommand } from '@parley/protocol';
import type { Sender } from './sender.ts';

/** Commands that name an existing call (everything of a call but the invite). */
export type CallCommandWithCall = Extract<Command, { call: CallSelector }>;

/**
 * Runs a command on the node that owns what it is about (a cluster's adapter implements it;
 * a single node runs everything itself). Each resolves with the command's result.
 */
export interface Owners {
  /** Starts a call here; glare and busy are decided across the nodes. */
  invite(sender: Sender, cmd: InviteCommand): Promise<{ callId: string; glare?: true }>;
  /** On the call's owner; offer, answer and ICE straight to the other device's node. */
  call(sender: Sender, cmd: CallCommandWithCall): unknown;
  /** On the node holding the rooms. */
  rooms(sender: Sender, cmd: Command): Promise<unknown>;
  /** On the node holding the meeting's media room. */
  meeting(sender: Sender, cmd: RtcCommand): Promise<unknown>;
}
