export { openDatabase, migrate, endSessionsOf, type Db } from './database.ts';
export {
  CallRecordStore,
  specStatus,
  outcome,
  type CallStart,
  type CallEnd,
  type RecordPage,
  type AbandonedCall,
} from './call-records.ts';
export { MeetingStore, type Meeting, type Participant } from './meetings.ts';
export type { Database } from './schema.ts';
