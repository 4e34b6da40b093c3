export { openDatabase, migrate, endSessionsOf, type Db } from './database.ts';
export { CallRecordStore, specStatus, outcome, type AbandonedCall } from './call-records.ts';
export { MeetingStore } from './meetings.ts';
export type { Database } from './schema.ts';
export { LastSeen } from './last-seen.ts';
export { endLeftovers, type Leftovers } from './leftovers.ts';
export { WriteQueue, BacklogFullError } from './write-queue.ts';
export { WriteJournal } from './write-journal.ts';
export { asAppError } from './store-errors.ts';
