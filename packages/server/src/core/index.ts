// The ports the domains own and the adapters implement. A leaf: nothing here imports the
// server's other folders (the dependency check in `npm test` holds it to that).
export type { Sender, ClientInfo } from './sender.ts';
export type { Delivery } from './delivery.ts';
export {
  nodeTimers,
  frameClock,
  handlingFrame,
  frameHandled,
  type Clock,
  type Timer,
  type Timers,
} from './time.ts';
export type {
  CallStart,
  CallEnd,
  WriteStatus,
  RecordPage,
  CallRecordWriter,
  CallHistory,
} from './call-records.ts';
export type { MeetingRecords } from './meeting-records.ts';
export type { Bus, BusMessage, BusMessageOf, BusRoutes } from './bus.ts';
export type { BusRequest, LocalRunner, Requests } from './requests.ts';
export type { Nodes } from './nodes.ts';
export type { CallIndex, CallSummary } from './call-index.ts';
export type { PresenceDirectory, PresenceEntry } from './directory.ts';
export type { RoomMembership, RoomMirror, RoomPair, RoomSnapshot } from './room-mirror.ts';
export type { CallRoute } from './call-route.ts';
export type { Placement } from './placement.ts';
export type { UserPeers } from './user-peers.ts';
export type { Owners, CallCommandWithCall } from './owners.ts';
export type {
  Revocation,
  LiveCallView,
  EndedCallView,
  AdminOp,
  AdminResults,
  AdminPeers,
} from './admin.ts';
export type {
  MeetingSpanPort,
  SpanEvent,
  SpanEndpoint,
  SpanPiped,
  SpanPipedData,
  SpanWhat,
  SpanRequest,
  SpanNotice,
  SpanPipeReply,
  SpanSnapshot,
} from './meeting-span.ts';
export {
  WEBHOOK_EVENTS,
  type WebhookEventType,
  type WebhookEvent,
  type WebhookOutbox,
  type OutboxEntry,
  type OutboxDepth,
  type DeadLetter,
} from './webhooks.ts';
