import { AppError, type Command, type CommandType } from '@parley/protocol';
import type { Sender } from '../core/index.ts';

/** Runs one kind of command for a sender; may return a result for the dialect to acknowledge. */
export type Handler<C extends Command = Command> = (sender: Sender, command: C) => unknown;

/** A registry of handlers by command type (no if-chains). */
export class Dispatcher {
  private readonly handlers = new Map<CommandType, Handler>();

  on<T extends CommandType>(type: T, handler: Handler<Extract<Command, { type: T }>>): this {
    this.handlers.set(type, handler as Handler);
    return this;
  }

  /** Whether a handler is registered for `type`. */
  has(type: CommandType): boolean {
    return this.handlers.has(type);
  }

  /** The command types with a handler. */
  types(): CommandType[] {
    return [...this.handlers.keys()];
  }

  /** Runs the command's handler; returns its result (a value or a promise). */
  run(sender: Sender, command: Command): unknown {
    const handler = this.handlers.get(command.type);
    if (!handler) throw AppError.unknownType(command.type);
    return handler(sender, command);
  }
}
