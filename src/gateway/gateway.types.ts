/** What the gateway offers the feature modules. */

// The push port is defined in shared/ (the feature modules call it); the gateway implements it.
import type { DeliverOptions, ServerEvent } from '../shared/push';
export type { DeliverOptions, Delivery, ServerEvent } from '../shared/push';

/** How one broadcast is narrowed. */
export interface BroadcastOptions extends DeliverOptions {
  /** Also to the users who opted out of broadcasts (a recall notice must reach them; a message must not). */
  includeOptedOut?: boolean;
}

/**
 * Reaches every connected user on every instance (the world channel): one bus message to all instances,
 * each writing to its own connections and skipping the users it knows opted out.
 */
export interface Broadcast {
  /** Sends the event to every connection on every instance, except users who opted out (unless included). */
  broadcast(event: ServerEvent, options?: BroadcastOptions): Promise<void>;
  /** The user opted out or back in (muted or unmuted the world channel): every instance holding them applies it. */
  optOutChanged(userId: string, optedOut: boolean): Promise<void>;
}

/** The connection a client frame came from. */
export interface FrameContext {
  userId: string;
  connectionId: string;
  /** Writes a frame to this connection only (an `ack` or an `error`). */
  reply(event: ServerEvent): void;
}

/** A client frame `{type, id?, data?}` after JSON parsing. */
export interface ClientFrame {
  type: string;
  id?: string;
  data?: unknown;
}

/** Handles one type of client frame; a thrown AppError becomes an `error` frame with the frame's id. */
export type FrameHandler = (ctx: FrameContext, frame: ClientFrame) => Promise<void>;

/** Lets modules handle client frame types (`send`, `typing`, `read`). */
export interface FrameRouter {
  onFrame(type: string, handler: FrameHandler): void;
}

/** Who hears about a user's presence changes (the friends module supplies it). */
export type PresenceAudience = (userId: string) => Promise<string[]>;
