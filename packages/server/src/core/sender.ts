import type { DeviceRef } from '@parley/protocol';

/** Who a connection comes from, as the call event logs show it (`metadata`). */
export interface ClientInfo {
  userAgent: string | null;
  ip: string | null;
}

/** The authenticated sender of a command: a device and who its user is. */
export interface Sender extends DeviceRef {
  name: string;
  grants: readonly string[];
  /** User agent and address captured at connect, for the call event logs (absent: unknown). */
  client?: ClientInfo;
}
