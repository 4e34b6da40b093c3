import type { DeviceRef, ServerEvent } from '@parley/protocol';

/** How domains hand events to devices; the gateway's Hub implements it (locally or over the bus). */
export interface Delivery {
  /** One device, wherever it is connected. */
  toDevice(to: DeviceRef, event: ServerEvent): void;
  /** Every device of a user, on every node. */
  toUser(userId: string, event: ServerEvent): Promise<void>;
}
