export * from './bounds.ts';
export * from './call.ts';
export * from './commands.ts';
export * from './errors.ts';
export * from './events.ts';
export * from './meeting.ts';
export * from './session.ts';
export * from './text.ts';
