import {
  AppError,
  type ChatPayload,
  type ChatSignalCommand,
  type DeviceRef,
  type RoomSignalCommand,
  type ServerEvent,
} from '@parley/protocol';
import { granted } from '../auth/index.ts';
import type { Clock, Delivery, Sender } from '../core/index.ts';
import type { Config } from '../config/index.ts';
import type { Logger } from '../observability/index.ts';
import type { PresenceDirectory } from '../presence/index.ts';
import type { RoomMirror, RoomSnapshot } from '../core/index.ts';

/** What the room manager needs. */
export interface RoomManagerOptions {
  rooms: Config['rooms'];
  delivery: Delivery;
  directory: PresenceDirectory;
  log: Logger;
  clock?: Clock;
  /** Where the state is copied for a successor (cluster mode); none on a single node. */
  mirror?: RoomMirror;
}

/** A member of a room: a user and the devices with which it joined. */
interface Member {
  name: string;
  devices: Map<string, DeviceRef>;
}

/** One direction of a ROOM signaling pair. */
interface PairState {
  /** `offered` after an offer from→to; `answered` once to→from answered it. */
  phase: 'offered' | 'answered';
  lastActivity: number;
}

/** A room as members see it. */
export interface RoomView {
  roomId: string;
  members: Array<{ userId: string; name: string }>;
}

const pairKey = (from: string, to: string): string => `${from}\u0000${to}`;

/**
 * Room membership (shared by every dialect), peer-to-peer signaling between members with the
 * ROOM module's checks, and chat delivery. Membership is per device; a user is a member while
 * any of its devices is.
 */
export class RoomManager {
  private readonly rooms = new Map<string, Map<string, Member>>();
  private readonly deviceRooms = new Map<string, Set<string>>();
  private readonly pairs = new Map<string, PairState>();
  private readonly sweeper: NodeJS.Timeout;
  private readonly clock: Clock;
  private readonly log: Logger;

  constructor(private readonly o: RoomManagerOptions) {
    this.clock = o.clock ?? Date.now;
    this.log = o.log.child({ mod: 'rooms' });
    this.sweeper = setInterval(() => this.expirePairs(), Math.min(o.rooms.pairTimeoutMs, 30_000));
    this.sweeper.unref();
  }

  /** Adds the sender's device to a room; other members hear `room:member_joined`. */
  join(sender: Sender, roomId: string): RoomView {
    if (this.o.rooms.access === 'grant' && !granted(sender.grants, 'room', roomId)) {
      throw AppError.forbidden(`the token does not grant room ${roomId}`);
    }
    const isNew = this.addDevice(roomId, sender, sender.name);
    this.o.mirror?.joined({
      roomId,
      userId: sender.userId,
      deviceId: sender.deviceId,
      clientType: sender.clientType,
      name: sender.name,
    });
    if (isNew) {
      this.log.info({ event: 'room_join', roomId, userId: sender.userId }, 'member joined');
      this.toRoom(
        roomId,
        { type: 'room:member_joined', roomId, userId: sender.userId, name: sender.name },
        sender.userId,
      );
    }
    return this.view(roomId);
  }

  /** Removes the sender's device from a room. */
  leave(sender: Sender, roomId: string): { roomId: string } {
    if (!this.rooms.get(roomId)?.get(sender.userId)?.devices.has(sender.deviceId)) {
      throw AppError.notInRoom();
    }
    this.removeDevice(sender, roomId);
    return { roomId };
  }

  /** The members of a room the sender belongs to. */
  members(sender: Sender, roomId: string): RoomView {
    if (!this.rooms.get(roomId)?.has(sender.userId)) throw AppError.notInRoom();
    return this.view(roomId);
  }

  /** A device went away: it leaves every room it was in. */
  deviceGone(device: Sender): void {
    for (const roomId of [...(this.deviceRooms.get(device.deviceId) ?? [])]) {
      this.removeDevice(device, roomId);
    }
  }

  /**
   * Relays a ROOM signal to the target's devices in the rooms the two share, after the spec's
   * checks: target online, same room, voice grant for offers, a prior offer for answers and ICE.
   */
  async signal(sender: Sender, cmd: RoomSignalCommand): Promise<void> {
    const from = sender.userId;
    if (cmd.to === from) throw AppError.badRequest('cannot signal yourself');
    const targets = this.sharedDevices(from, cmd.to);
    if (targets.length === 0) {
      const online = (await this.o.directory.devices(cmd.to)).length > 0;
      throw online ? AppError.notInRoom() : AppError.targetOffline(cmd.to);
    }
    const now = this.clock();
    if (cmd.kind === 'offer') {
      const grant = this.o.rooms.voiceGrant;
      if (grant && !sender.grants.includes(grant)) {
        throw AppError.forbidden(
          `the token lacks the "${grant}" grant needed to start a voice connection`,
        );
      }
      this.pairs.set(pairKey(from, cmd.to), { phase: 'offered', lastActivity: now });
      this.o.mirror?.paired({ from, to: cmd.to, phase: 'offered' });
    } else if (cmd.kind === 'answer') {
      const offer = this.pairs.get(pairKey(cmd.to, from));
      if (!offer) throw AppError.noConnection();
      offer.lastActivity = now;
      if (offer.phase !== 'answered') {
        offer.phase = 'answered';
        this.o.mirror?.paired({ from: cmd.to, to: from, phase: 'answered' });
      }
    } else {
      const pair = this.pairs.get(pairKey(from, cmd.to)) ?? this.pairs.get(pairKey(cmd.to, from));
      if (!pair) throw AppError.noConnection();
      pair.lastActivity = now;
    }
    this.log[cmd.kind === 'ice' ? 'debug' : 'info'](
      { event: 'room_signal', kind: cmd.kind, from, to: cmd.to, requestId: cmd.requestId },
      'signal relayed',
    );
    const event: ServerEvent =
      cmd.requestId === undefined
        ? { type: 'room:signal', kind: cmd.kind, from, to: cmd.to, payload: cmd.payload }
        : {
            type: 'room:signal',
            kind: cmd.kind,
            from,
            to: cmd.to,
            payload: cmd.payload,
            requestId: cmd.requestId,
          };
    for (const d of targets) this.o.delivery.toDevice(d, event);
  }

  /**
   * Delivers a chat message: single chat to every device of `to` and the sender's other
   * devices; group chat to the member devices of room `to` (the sender must be a member).
   */
  async chat(sender: Sender, message: ChatPayload): Promise<{ timestamp: number }> {
    const timestamp = this.clock();
    const event: ServerEvent = { type: 'chat:message', from: sender.userId, message, timestamp };
    if (message.messageType === 2) {
      if (!this.rooms.get(message.to)?.has(sender.userId)) throw AppError.notInRoom();
      this.toRoom(message.to, event, null, sender.deviceId);
      return { timestamp };
    }
    const devices = await this.o.directory.devices(message.to);
    if (devices.length === 0) throw AppError.targetOffline(message.to);
    for (const d of devices) this.o.delivery.toDevice(d, event);
    for (const d of await this.o.directory.devices(sender.userId)) {
      if (d.deviceId !== sender.deviceId) this.o.delivery.toDevice(d, event);
    }
    return { timestamp };
  }

  /**
   * Forwards a chat-protobuf app signal (a type Parley does not know) to every device of `to`,
   * as the spec's forwardMessageToUser does; only chat-protobuf devices show it.
   */
  async forward(sender: Sender, cmd: ChatSignalCommand): Promise<void> {
    const devices = await this.o.directory.devices(cmd.to);
    if (devices.length === 0) throw AppError.targetOffline(cmd.to);
    const event: ServerEvent = {
      type: 'chat:signal',
      from: sender.userId,
      to: cmd.to,
      origin: cmd.origin,
      timestamp: this.clock(),
    };
    for (const d of devices) this.o.delivery.toDevice(d, event);
  }

  /**
   * Takes over the rooms a predecessor left in the mirror (this node now holds the rooms).
   * Devices that are no longer connected anywhere (`present` says) leave, and the members who
   * stay hear it; pairs restart their timeout. What this node already has is kept.
   */
  restore(snapshot: RoomSnapshot, present: (device: DeviceRef) => boolean): void {
    const gone: Array<{ device: DeviceRef; roomId: string }> = [];
    for (const m of snapshot.members) {
      const device = { userId: m.userId, deviceId: m.deviceId, clientType: m.clientType };
      this.addDevice(m.roomId, device, m.name);
      if (!present(device)) gone.push({ device, roomId: m.roomId });
    }
    const now = this.clock();
    for (const p of snapshot.pairs) {
      const key = pairKey(p.from, p.to);
      if (!this.pairs.has(key) && this.shareRoom(p.from, p.to)) {
        this.pairs.set(key, { phase: p.phase, lastActivity: now });
      }
    }
    for (const { device, roomId } of gone) this.removeDevice(device, roomId);
    this.log.info(
      { event: 'rooms_restored', rooms: this.rooms.size, gone: gone.length },
      'rooms taken over',
    );
  }

  /** Forgets every room without telling anyone (another node holds the rooms now). */
  clear(): void {
    this.rooms.clear();
    this.deviceRooms.clear();
    this.pairs.clear();
  }

  close(): void {
    clearInterval(this.sweeper);
  }

  private view(roomId: string): RoomView {
    const room = this.rooms.get(roomId);
    return {
      roomId,
      members: [...(room ?? [])].map(([userId, m]) => ({ userId, name: m.name })),
    };
  }

  /** The devices of `to` in rooms where `from` is also a member. */
  private sharedDevices(from: string, to: string): DeviceRef[] {
    const out = new Map<string, DeviceRef>();
    for (const room of this.rooms.values()) {
      const target = room.get(to);
      if (target && room.has(from)) for (const [id, d] of target.devices) out.set(id, d);
    }
    return [...out.values()];
  }

  private shareRoom(a: string, b: string): boolean {
    for (const room of this.rooms.values()) if (room.has(a) && room.has(b)) return true;
    return false;
  }

  /** Adds a device to a room (quietly); true when its user was not a member before. */
  private addDevice(roomId: string, device: DeviceRef, name: string): boolean {
    let room = this.rooms.get(roomId);
    if (!room) this.rooms.set(roomId, (room = new Map<string, Member>()));
    let member = room.get(device.userId);
    const isNew = !member;
    if (!member) room.set(device.userId, (member = { name, devices: new Map() }));
    member.devices.set(device.deviceId, {
      userId: device.userId,
      deviceId: device.deviceId,
      clientType: device.clientType,
    });
    let joined = this.deviceRooms.get(device.deviceId);
    if (!joined) this.deviceRooms.set(device.deviceId, (joined = new Set()));
    joined.add(roomId);
    return isNew;
  }

  private removeDevice(device: DeviceRef, roomId: string): void {
    this.o.mirror?.left(roomId, device.deviceId);
    this.deviceRooms.get(device.deviceId)?.delete(roomId);
    if (this.deviceRooms.get(device.deviceId)?.size === 0) this.deviceRooms.delete(device.deviceId);
    const room = this.rooms.get(roomId);
    const member = room?.get(device.userId);
    if (!room || !member) return;
    member.devices.delete(device.deviceId);
    if (member.devices.size > 0) return;
    room.delete(device.userId);
    if (room.size === 0) this.rooms.delete(roomId);
    this.log.info({ event: 'room_leave', roomId, userId: device.userId }, 'member left');
    this.toRoom(
      roomId,
      { type: 'room:member_left', roomId, userId: device.userId, name: member.name },
      null,
    );
    this.forgetPairs(device.userId);
  }

  /** Drops signaling state between `userId` and everyone it no longer shares a room with. */
  private forgetPairs(userId: string): void {
    for (const key of this.pairs.keys()) {
      const [a, b] = key.split('\u0000') as [string, string];
      if ((a === userId || b === userId) && !this.shareRoom(a, b)) this.dropPair(key, a, b);
    }
  }

  private expirePairs(): void {
    const cutoff = this.clock() - this.o.rooms.pairTimeoutMs;
    for (const [key, p] of this.pairs) {
      if (p.lastActivity < cutoff) {
        const [a, b] = key.split('\u0000') as [string, string];
        this.dropPair(key, a, b);
        this.log.info(
          { event: 'room_pair_expired', pair: key.replace('\u0000', '→') },
          'signaling pair timed out',
        );
      }
    }
  }

  private dropPair(key: string, from: string, to: string): void {
    this.pairs.delete(key);
    this.o.mirror?.unpaired(from, to);
  }

  private toRoom(
    roomId: string,
    event: ServerEvent,
    exceptUser: string | null,
    exceptDevice?: string,
  ): void {
    for (const [userId, m] of this.rooms.get(roomId) ?? []) {
      if (userId === exceptUser) continue;
      for (const d of m.devices.values())
        if (d.deviceId !== exceptDevice) this.o.delivery.toDevice(d, event);
    }
  }
}
