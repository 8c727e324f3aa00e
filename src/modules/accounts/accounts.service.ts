import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  UnauthenticatedError,
  ValidationError,
} from '../../shared/errors';
import { Coalescer } from '../../shared/coalesce';
import { decodeCursor, encodeCursor } from '../../shared/cursor';
import type { EventPublisher } from '../../shared/events';
import type { Logger } from '../../shared/logger';
import { codePointLength } from '../../shared/text';
import { ID_RE } from '../../shared/validators';
import type {
  AccountsStore,
  NicknamePosition,
  PresenceChoice,
  ProfileChanges,
  UserRecord,
  UserStatus,
} from './accounts.store';
import type { AccountsEvents } from './accounts.events';
import type { CaptchaService } from './captcha.service';
import type { LoginFailures } from './login-throttle';
import { burnPasswordCheck, hashPassword, isStrongPassword, verifyPassword } from './passwords';
import type { TokenClaims, TokenService } from './tokens';
import { assertUsername } from './accounts.validation';

/** Tells which users have a live connection somewhere (the gateway's presence). */
export interface PresenceReader {
  onlineUserIds(userIds: string[]): Promise<Set<string>>;
}

/** Told when a user's chosen presence changes, so friends can be notified (the gateway, on `ProfileChanged`). */
export interface PresenceChangeListener {
  presenceChosen(userId: string, presence: PresenceChoice): Promise<void>;
}

/**
 * Ends what an account that is no longer active still holds open: its WebSocket connections, on every
 * instance (the gateway, on `AccountDisabled`). Its tokens are refused from then on by `TokenService.verify`.
 */
export interface AccountCutOff {
  accountDeactivated(userId: string): Promise<void>;
}

/** Who blocks whom (supplied by the friends module): a user who blocks you looks offline to you. */
export interface BlockReader {
  /** Which of `userIds` block `viewerId`. */
  blockersAmong(viewerId: string, userIds: string[]): Promise<Set<string>>;
}

/** The public user object. */
export interface PublicUser {
  id: string;
  username: string;
  nickname: string;
  avatar: string | null;
  birthDate: string | null;
  presence: PresenceChoice | 'offline';
  online: boolean;
  createdAt: string;
}

/** The caller's own user object, with private fields. */
export interface PrivateUser extends PublicUser {
  role: UserRecord['role'];
  updatedAt: string;
}

export interface Session {
  user: PrivateUser;
  token: string;
  expiresAt: string;
}

export interface AccountsDeps {
  store: AccountsStore;
  tokens: TokenService;
  captcha: CaptchaService;
  loginFailures: LoginFailures;
  blocks: BlockReader;
  presence: PresenceReader;
  /** Whether an account is active, shared with the token check so concurrent asks share one query. */
  statuses: AccountStatuses;
  events: EventPublisher<AccountsEvents>;
  logger: Logger;
}

/** Whether accounts are still active; concurrent asks for the same users share one query. */
export class AccountStatuses {
  // Every authenticated request asks whether its account is still active.
  private readonly statuses: Coalescer<string, UserStatus>;

  constructor(private readonly store: Pick<AccountsStore, 'findByIds'>) {
    this.statuses = new Coalescer(
      async (ids) => new Map((await store.findByIds(ids)).map((u) => [u.id, u.status])),
    );
  }

  /** True while the account may sign in and act (neither disabled nor deleted). */
  isActive(userId: string): Promise<boolean> {
    return this.statuses.get(userId).then((status) => status === 'active');
  }

  /** Of these users, those whose account is no longer active (disabled, deleted or gone); one query. */
  async inactiveAmong(userIds: string[]): Promise<Set<string>> {
    const active = new Set(
      (await this.store.findByIds(userIds)).filter((u) => u.status === 'active').map((u) => u.id),
    );
    return new Set(userIds.filter((id) => !active.has(id)));
  }
}

/** Registration, login, tokens and profiles. */
export class AccountsService {
  constructor(private readonly deps: AccountsDeps) {}

  /**
   * Sets an account's status (administrators only, not their own). Leaving `active` cuts the account off at
   * once: its REST calls get 401 from the next request on, and `AccountDisabled` is published (the gateway
   * closes its WebSocket connections with 4003 on every instance) before this returns.
   */
  async setStatus(adminId: string, userId: string, status: UserStatus): Promise<void> {
    const admin = await this.deps.store.findById(adminId);
    if (!admin || admin.status !== 'active' || admin.role !== 'admin') {
      throw new ForbiddenError('Only administrators may change account status');
    }
    if (userId === adminId) {
      throw new ValidationError('You cannot change your own status', [
        { field: 'userId', message: 'must not be yourself' },
      ]);
    }
    const user = await this.deps.store.findById(userId);
    if (!user) throw new NotFoundError('User not found', 'USER_NOT_FOUND');
    if (user.status === status) return;
    await this.deps.store.setStatus(userId, status);
    this.deps.logger.info({ userId, status, adminId }, 'account status changed');
    if (status !== 'active') await this.deps.events.publish('AccountDisabled', { userId, status, adminId });
  }

  /** Creates an account after checking the captcha; returns a session. */
  async register(input: {
    username: string;
    password: string;
    nickname?: string;
    birthDate?: string | null;
    captchaId?: string;
    captchaCode?: string;
  }): Promise<Session> {
    assertUsername(input.username);
    if (!isStrongPassword(input.password)) {
      throw new ValidationError(
        'Password needs 8-128 characters with at least three of: lower case, upper case, digit, symbol',
        [{ field: 'password', message: 'too weak' }],
        'WEAK_PASSWORD',
      );
    }
    if (this.deps.captcha.enabled && !(await this.deps.captcha.verify(input.captchaId, input.captchaCode))) {
      throw new ValidationError('Captcha answer is wrong or expired', undefined, 'CAPTCHA_INVALID');
    }
    if (await this.deps.store.findByUsername(input.username))
      throw new ConflictError('Username is taken', 'USERNAME_TAKEN');
    const user = await this.deps.store.create({
      username: input.username,
      passwordHash: await hashPassword(input.password),
      nickname: input.nickname?.trim() || input.username,
      birthDate: input.birthDate ?? null,
    });
    this.deps.logger.info({ userId: user.id }, 'user registered');
    await this.deps.events.publish('UserRegistered', { userId: user.id });
    return this.startSession(user);
  }

  /** Checks credentials (with the captcha after repeated failures from this address) and returns a session. */
  async login(input: {
    username: string;
    password: string;
    captchaId?: string;
    captchaCode?: string;
    ip: string;
  }): Promise<Session> {
    // The login throttle keys on the username, so it must have the username's bounded format.
    assertUsername(input.username);
    const { loginFailures, captcha, store } = this.deps;
    if (captcha.enabled && (await loginFailures.captchaRequired(input.username, input.ip))) {
      if (!input.captchaId || !input.captchaCode) {
        throw new ValidationError('Captcha required after repeated failures', undefined, 'CAPTCHA_REQUIRED');
      }
      if (!(await captcha.verify(input.captchaId, input.captchaCode))) {
        throw new ValidationError('Captcha answer is wrong or expired', undefined, 'CAPTCHA_INVALID');
      }
    }
    const found = await store.findByUsername(input.username);
    // A deleted account answers exactly like one that never existed.
    const user = found && found.status !== 'deleted' ? found : null;
    const ok = user?.passwordHash
      ? await verifyPassword(input.password, user.passwordHash)
      : (await burnPasswordCheck(input.password), false);
    if (!user || !ok) {
      await loginFailures.recordFailure(input.username, input.ip);
      throw new UnauthenticatedError('Invalid username or password', 'INVALID_CREDENTIALS');
    }
    if (user.status !== 'active') {
      throw new ForbiddenError('This account is disabled', 'ACCOUNT_DISABLED');
    }
    await loginFailures.reset(input.username, input.ip);
    return this.startSession(user);
  }

  /** True while the account may sign in and act (neither disabled nor deleted). */
  isActive(userId: string): Promise<boolean> {
    return this.deps.statuses.isActive(userId);
  }

  /** Revokes the token the caller used. */
  async logout(claims: TokenClaims): Promise<void> {
    await this.deps.tokens.revoke(claims);
  }

  /** The caller with private fields; UNAUTHENTICATED when the account is gone or disabled. */
  async me(userId: string): Promise<PrivateUser> {
    const user = await this.deps.store.findById(userId);
    if (!user || user.status !== 'active') throw new UnauthenticatedError('Account is no longer active');
    return this.toPrivate(user);
  }

  /** Updates the caller's profile. */
  async updateProfile(userId: string, changes: ProfileChanges): Promise<PrivateUser> {
    const before = await this.deps.store.findById(userId);
    if (!before || before.status !== 'active') throw new UnauthenticatedError('Account is no longer active');
    const user = await this.deps.store.updateProfile(userId, changes);
    if (!user) throw new UnauthenticatedError('Account is no longer active');
    await this.deps.events.publish('ProfileChanged', {
      userId,
      fields: (Object.keys(changes) as Array<keyof ProfileChanges>).filter((k) => changes[k] !== undefined),
      presence: user.presence,
      previousPresence: before.presence,
    });
    return this.toPrivate(user);
  }

  /** Changes the password after checking the old one; every other token of the user is revoked. */
  async changePassword(claims: TokenClaims, oldPassword: string, newPassword: string): Promise<void> {
    const user = await this.deps.store.findById(claims.userId);
    if (!user || user.status !== 'active' || !user.passwordHash)
      throw new UnauthenticatedError('Account is no longer active');
    if (!(await verifyPassword(oldPassword, user.passwordHash))) {
      throw new ForbiddenError('Old password is wrong', 'INVALID_CREDENTIALS');
    }
    if (!isStrongPassword(newPassword)) {
      throw new ValidationError(
        'Password needs 8-128 characters with at least three of: lower case, upper case, digit, symbol',
        [{ field: 'newPassword', message: 'too weak' }],
        'WEAK_PASSWORD',
      );
    }
    await this.deps.store.updatePassword(user.id, await hashPassword(newPassword));
    await this.deps.tokens.revokeAllOf(user.id, claims.jti);
  }

  /**
   * A user's public profile as `viewerId` sees it (offline when the user blocks the viewer); NOT_FOUND for
   * unknown, disabled or deleted users.
   */
  async getPublic(userId: string, viewerId: string): Promise<PublicUser> {
    const user = await this.deps.store.findById(userId);
    if (!user || user.status !== 'active') throw new NotFoundError('User not found', 'USER_NOT_FOUND');
    if (user.id === viewerId) return this.toPrivate(user);
    const [pub] = await this.toPublic([user], viewerId);
    return pub;
  }

  /**
   * Active users by nickname prefix, ordered by nickname; when `q` is an id, that user comes first on
   * the first page. Users who block `viewerId` are never found. The cursor is opaque to clients.
   */
  async search(
    q: string,
    cursor: string | null,
    limit: number,
    viewerId: string,
  ): Promise<{ items: PublicUser[]; nextCursor: string | null }> {
    const after = cursor === null ? null : decodeSearchCursor(cursor);
    const isId = ID_RE.test(q);
    const byId = !after && isId ? await this.deps.store.findById(q) : null;
    const first =
      byId &&
      byId.status === 'active' &&
      !(await this.deps.blocks.blockersAmong(viewerId, [byId.id])).has(byId.id)
        ? [byId]
        : [];
    const want = limit - first.length;
    const rows = await this.deps.store.searchByNickname(q, after, isId ? q : null, want + 1, viewerId);
    const page = rows.slice(0, want);
    const last = page[page.length - 1];
    return {
      // Users who block the viewer are left out above, so none of these needs the viewer's block check.
      items: await this.toPublic([...first, ...page]),
      nextCursor:
        rows.length > want
          ? encodeSearchCursor(last ? { nickname: last.nickname, id: last.id } : { nickname: '', id: '0' })
          : null,
    };
  }

  /**
   * Public objects of several users (for other modules: friends lists, members). With `viewerId`, users
   * who block the viewer show offline, as invisible ones do.
   */
  async toPublic(users: UserRecord[], viewerId?: string): Promise<PublicUser[]> {
    let visible = users.filter((u) => u.presence !== 'invisible').map((u) => u.id);
    if (viewerId !== undefined && visible.length) {
      const blockers = await this.deps.blocks.blockersAmong(viewerId, visible);
      if (blockers.size) visible = visible.filter((id) => !blockers.has(id));
    }
    const online = visible.length ? await this.deps.presence.onlineUserIds(visible) : new Set<string>();
    return users.map((u) => {
      const isOnline = online.has(u.id);
      return { ...baseFields(u), presence: isOnline ? u.presence : 'offline', online: isOnline };
    });
  }

  /** Public objects of the users with these ids as `viewerId` sees them (when given), skipping unknown ids. */
  async publicUsersByIds(ids: string[], viewerId?: string): Promise<Map<string, PublicUser>> {
    const users = await this.deps.store.findByIds([...new Set(ids)]);
    const pubs = await this.toPublic(users, viewerId);
    return new Map(pubs.map((p) => [p.id, p]));
  }

  private async toPrivate(user: UserRecord): Promise<PrivateUser> {
    const online = (await this.deps.presence.onlineUserIds([user.id])).has(user.id);
    return {
      ...baseFields(user),
      presence: user.presence,
      online,
      role: user.role,
      updatedAt: user.updatedAt.toISOString(),
    };
  }

  private async startSession(user: UserRecord): Promise<Session> {
    const { token, claims } = this.deps.tokens.issue(user.id);
    return { user: await this.toPrivate(user), token, expiresAt: new Date(claims.expiresAt).toISOString() };
  }
}

function encodeSearchCursor(pos: NicknamePosition): string {
  return encodeCursor([pos.nickname, pos.id]);
}

function decodeSearchCursor(cursor: string): NicknamePosition {
  return decodeCursor(cursor, (value) =>
    Array.isArray(value) &&
    value.length === 2 &&
    typeof value[0] === 'string' &&
    codePointLength(value[0]) <= 64 &&
    typeof value[1] === 'string' &&
    (value[1] === '0' || ID_RE.test(value[1]))
      ? { nickname: value[0], id: value[1] }
      : null,
  );
}

function baseFields(u: UserRecord) {
  return {
    id: u.id,
    username: u.username,
    nickname: u.nickname,
    avatar: u.avatar,
    birthDate: u.birthDate,
    createdAt: u.createdAt.toISOString(),
  };
}
