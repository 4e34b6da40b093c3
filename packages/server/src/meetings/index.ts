export {
  MeetingService,
  NICKNAME_MAX_LENGTH,
  type MeetingServiceOptions,
  type MeetingView,
} from './service.ts';
export { RtcService, type RtcServiceOptions, type RtcHandlerRegistry } from './rtc.ts';
export { iceServers, type IceServer } from './ice.ts';
export { MeetingRouting } from './meeting-routing.ts';
export { routeSpan } from './span-routes.ts';
