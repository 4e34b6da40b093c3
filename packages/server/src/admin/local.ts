import type { CallState } from '../calls/index.ts';
import type { AdminOp, AdminResults, LiveCallView } from '../core/index.ts';
import { CloseCode, type Hub } from '../gateway/index.ts';
import type { RtcService } from '../meetings/index.ts';

const isoOrNull = (ms: number | null): string | null =>
  ms === null ? null : new Date(ms).toISOString();

/** A live call as the admin API shows it. */
export function callView(s: CallState, node: string): LiveCallView {
  const { userId, deviceId, clientType } = s.caller;
  return {
    callId: s.callId,
    media: s.media,
    caller: { userId, deviceId, clientType },
    callee: s.callee,
    phase: s.phase,
    answeredBy: s.answeredBy,
    createdAt: new Date(s.createdAt).toISOString(),
    acceptedAt: isoOrNull(s.acceptedAt),
    node,
  };
}

/** What AdminLocal works on: this node's calls, connections and media rooms. */
export interface AdminLocalOptions {
  nodeId: string;
  engine: { live(): CallState[]; endByAdmin(callId: string): CallState };
  hub: Pick<Hub, 'kickWhere'>;
  rtc: Pick<RtcService, 'media' | 'adminMute'>;
}

/** Runs an administrator's AdminOp on this node (for its own API, or asked by another node). */
export class AdminLocal {
  constructor(private readonly o: AdminLocalOptions) {}

  run<O extends AdminOp>(op: O): Promise<AdminResults[O['op']]>;
  async run(op: AdminOp): Promise<AdminResults[AdminOp['op']]> {
    const { nodeId, engine, hub, rtc } = this.o;
    switch (op.op) {
      case 'calls':
        return engine.live().map((s) => callView(s, nodeId));
      case 'end-call': {
        const s = engine.endByAdmin(op.callId);
        return { callId: s.callId, reason: s.endReason ?? 'admin' };
      }
      case 'disconnect': {
        const n = hub.kickWhere(
          (c) => c.sender.deviceId === op.deviceId,
          CloseCode.Kicked,
          'disconnected by an administrator',
        );
        return { deviceId: op.deviceId, disconnected: n > 0 };
      }
      case 'media':
        return rtc.media(op.meetingId);
      case 'mute':
        return rtc.adminMute(op.meetingId, op.producerId, op.allowUnmute);
    }
  }
}
