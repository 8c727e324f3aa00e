import type { Request, Router } from 'express';
import { body, query } from 'express-validator';
import { limitPerUser, type Limiter } from '../../shared/rate-limit';
import { validate } from '../../shared/validation';
import {
  idParam,
  lengthIn,
  limitOf,
  optionalString,
  optionalUrl,
  pageQuery,
  requiredString,
} from '../../shared/validators';
import { authOf, requireAuth } from './auth.middleware';
import type { AccountsService } from './accounts.service';
import type { UserStatus } from './accounts.store';
import type { CaptchaService } from './captcha.service';
import type { TokenService } from './tokens';

export interface AccountsRoutesDeps {
  accounts: AccountsService;
  captcha: CaptchaService;
  tokens: TokenService;
  limits: { login: Limiter; register: Limiter; captcha: Limiter; profileChanges: Limiter };
}

const USERNAME_RE = /^[A-Za-z0-9_.-]{3,32}$/;
const PRESENCES = ['online', 'away', 'busy', 'invisible'];
const STATUSES: UserStatus[] = ['active', 'disabled', 'deleted'];

const birthDate = body('birthDate')
  .optional({ values: 'null' })
  .isString()
  .withMessage('must be a date YYYY-MM-DD')
  .bail()
  .isISO8601({ strict: true, strictSeparator: true })
  .withMessage('must be a date YYYY-MM-DD')
  .bail()
  .matches(/^\d{4}-\d{2}-\d{2}$/)
  .withMessage('must be a date YYYY-MM-DD')
  .bail()
  .custom((v: string) => v >= '1900-01-01' && v <= new Date().toISOString().slice(0, 10))
  .withMessage('must be between 1900-01-01 and today');

/** The username format, on registration and on login alike (the login throttle relies on it). */
function usernameField() {
  return requiredString('username', 3, 32)
    .bail()
    .matches(USERNAME_RE)
    .withMessage('may contain only letters, digits, _ . -');
}

const captchaFields = [optionalString('captchaId', 1, 64), optionalString('captchaCode', 1, 16)];

function clientIp(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}

/**
 * @openapi
 * components:
 *   schemas:
 *     User:
 *       type: object
 *       required: [id, username, nickname, avatar, birthDate, presence, online, createdAt]
 *       properties:
 *         id: { type: string, example: "42" }
 *         username: { type: string, example: alice }
 *         nickname: { type: string, example: Alice }
 *         avatar: { type: string, nullable: true, example: "https://cdn.example.com/a.png" }
 *         birthDate: { type: string, format: date, nullable: true }
 *         presence: { type: string, enum: [online, away, busy, invisible, offline] }
 *         online: { type: boolean }
 *         createdAt: { type: string, format: date-time }
 *     PrivateUser:
 *       allOf:
 *         - $ref: '#/components/schemas/User'
 *         - type: object
 *           properties:
 *             role: { type: string, enum: [user, admin] }
 *             updatedAt: { type: string, format: date-time }
 *     Session:
 *       type: object
 *       properties:
 *         user: { $ref: '#/components/schemas/PrivateUser' }
 *         token: { type: string, description: "Bearer token for Authorization and the WebSocket" }
 *         expiresAt: { type: string, format: date-time }
 *     UserPage:
 *       type: object
 *       properties:
 *         items: { type: array, items: { $ref: '#/components/schemas/User' } }
 *         nextCursor: { type: string, nullable: true }
 */
export function accountsRoutes(deps: AccountsRoutesDeps) {
  const auth = requireAuth(deps.tokens);
  return (router: Router): void => {
    /**
     * @openapi
     * /api/v1/captcha:
     *   get:
     *     operationId: getCaptcha
     *     tags: [Accounts]
     *     summary: A new captcha (SVG); its answer expires after captcha.ttlSeconds and works once
     *     security: []
     *     responses:
     *       200:
     *         description: the captcha
     *         content:
     *           application/json:
     *             schema:
     *               type: object
     *               properties:
     *                 captchaId: { type: string }
     *                 svg: { type: string, description: SVG markup }
     *       429: { $ref: '#/components/responses/RateLimited' }
     */
    router.get('/api/v1/captcha', async (req, res) => {
      await deps.limits.captcha.consume(clientIp(req));
      res.set('Cache-Control', 'no-store');
      res.json(await deps.captcha.create());
    });

    /**
     * @openapi
     * /api/v1/auth/register:
     *   post:
     *     operationId: registerUser
     *     tags: [Accounts]
     *     summary: Create an account (captcha required unless captcha.enabled is false)
     *     security: []
     *     requestBody:
     *       required: true
     *       content:
     *         application/json:
     *           schema:
     *             type: object
     *             required: [username, password]
     *             additionalProperties: false
     *             properties:
     *               username: { type: string, pattern: "^[A-Za-z0-9_.-]{3,32}$", description: unique ignoring case }
     *               password: { type: string, minLength: 8, maxLength: 128, description: "at least three of lower, upper, digit, symbol" }
     *               nickname: { type: string, minLength: 1, maxLength: 64 }
     *               birthDate: { type: string, format: date, nullable: true }
     *               captchaId: { type: string }
     *               captchaCode: { type: string }
     *     responses:
     *       201:
     *         description: created; signed in
     *         content: { application/json: { schema: { $ref: '#/components/schemas/Session' } } }
     *       400: { description: "VALIDATION_FAILED, CAPTCHA_INVALID or WEAK_PASSWORD", content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } } }
     *       409: { description: USERNAME_TAKEN, content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } } }
     *       429: { $ref: '#/components/responses/RateLimited' }
     */
    router.post(
      '/api/v1/auth/register',
      validate(
        usernameField(),
        requiredString('password', 1, 128),
        optionalString('nickname', 1, 64)
          .bail()
          .custom((v: string) => v.trim().length > 0)
          .withMessage('must not be blank'),
        birthDate,
        ...captchaFields,
      ),
      async (req, res) => {
        await deps.limits.register.consume(clientIp(req));
        const b = req.body as Record<string, string | undefined>;
        const session = await deps.accounts.register({
          username: b.username!,
          password: b.password!,
          nickname: b.nickname,
          birthDate: b.birthDate ?? null,
          captchaId: b.captchaId,
          captchaCode: b.captchaCode,
        });
        res.locals.userId = session.user.id;
        res.status(201).json(session);
      },
    );

    /**
     * @openapi
     * /api/v1/auth/login:
     *   post:
     *     operationId: login
     *     tags: [Accounts]
     *     summary: Sign in; after 3 failures for a username from one address the captcha is required
     *     security: []
     *     requestBody:
     *       required: true
     *       content:
     *         application/json:
     *           schema:
     *             type: object
     *             required: [username, password]
     *             additionalProperties: false
     *             properties:
     *               username: { type: string, pattern: "^[A-Za-z0-9_.-]{3,32}$", description: "any letter case; anything else is 400 VALIDATION_FAILED" }
     *               password: { type: string }
     *               captchaId: { type: string }
     *               captchaCode: { type: string }
     *     responses:
     *       200:
     *         description: signed in
     *         content: { application/json: { schema: { $ref: '#/components/schemas/Session' } } }
     *       400: { description: "VALIDATION_FAILED, CAPTCHA_REQUIRED or CAPTCHA_INVALID", content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } } }
     *       401: { description: "INVALID_CREDENTIALS (the same for an unknown user and a wrong password)", content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } } }
     *       403: { description: ACCOUNT_DISABLED, content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } } }
     *       429: { $ref: '#/components/responses/RateLimited' }
     */
    router.post(
      '/api/v1/auth/login',
      validate(usernameField(), requiredString('password', 1, 128), ...captchaFields),
      async (req, res) => {
        const ip = clientIp(req);
        await deps.limits.login.consume(ip);
        const b = req.body as Record<string, string | undefined>;
        const session = await deps.accounts.login({
          username: b.username!,
          password: b.password!,
          captchaId: b.captchaId,
          captchaCode: b.captchaCode,
          ip,
        });
        res.locals.userId = session.user.id;
        res.json(session);
      },
    );

    /**
     * @openapi
     * /api/v1/auth/logout:
     *   post:
     *     operationId: logout
     *     tags: [Accounts]
     *     summary: Revoke the token used for this request
     *     description: The WebSocket connections holding this token, on every instance, are closed with 4001 (token revoked).
     *     responses:
     *       204: { description: signed out }
     *       401: { $ref: '#/components/responses/Unauthenticated' }
     */
    router.post('/api/v1/auth/logout', auth, validate(), async (req, res) => {
      await deps.accounts.logout(authOf(req));
      res.status(204).end();
    });

    /**
     * @openapi
     * /api/v1/users/me:
     *   get:
     *     operationId: getCurrentUser
     *     tags: [Accounts]
     *     summary: The caller, with private fields
     *     responses:
     *       200: { description: the caller, content: { application/json: { schema: { $ref: '#/components/schemas/PrivateUser' } } } }
     *       401: { $ref: '#/components/responses/Unauthenticated' }
     *   patch:
     *     operationId: updateCurrentUser
     *     tags: [Accounts]
     *     summary: Change the caller's profile
     *     requestBody:
     *       required: true
     *       content:
     *         application/json:
     *           schema:
     *             type: object
     *             additionalProperties: false
     *             properties:
     *               nickname: { type: string, minLength: 1, maxLength: 64 }
     *               avatar: { type: string, nullable: true, format: iri, maxLength: 1024, description: http or https URL }
     *               birthDate: { type: string, format: date, nullable: true }
     *               presence: { type: string, enum: [online, away, busy, invisible] }
     *     responses:
     *       200: { description: the updated user, content: { application/json: { schema: { $ref: '#/components/schemas/PrivateUser' } } } }
     *       400: { $ref: '#/components/responses/BadRequest' }
     *       401: { $ref: '#/components/responses/Unauthenticated' }
     *       429: { $ref: '#/components/responses/RateLimited' }
     */
    router.get('/api/v1/users/me', auth, async (req, res) => {
      res.json(await deps.accounts.me(authOf(req).userId));
    });

    router.patch(
      '/api/v1/users/me',
      auth,
      validate(
        optionalString('nickname', 1, 64)
          .bail()
          .custom((v: string) => v.trim().length > 0)
          .withMessage('must not be blank'),
        optionalUrl('avatar'),
        birthDate,
        body('presence')
          .optional()
          .isString()
          .withMessage(`must be one of ${PRESENCES.join(', ')}`)
          .bail()
          .isIn(PRESENCES)
          .withMessage(`must be one of ${PRESENCES.join(', ')}`),
      ),
      limitPerUser(deps.limits.profileChanges),
      async (req, res) => {
        const b = req.body as Record<string, string | null | undefined>;
        res.json(
          await deps.accounts.updateProfile(authOf(req).userId, {
            nickname: b.nickname?.trim(),
            avatar: b.avatar,
            birthDate: b.birthDate,
            presence: b.presence as 'online' | undefined,
          }),
        );
      },
    );

    /**
     * @openapi
     * /api/v1/users/me/password:
     *   put:
     *     operationId: changePassword
     *     tags: [Accounts]
     *     summary: Change the password; every other token of the caller is revoked (attempts per user limited like logins)
     *     description: The WebSocket connections holding the revoked tokens, on every instance, are closed with 4001 (token revoked); those of the current token stay open.
     *     requestBody:
     *       required: true
     *       content:
     *         application/json:
     *           schema:
     *             type: object
     *             required: [oldPassword, newPassword]
     *             additionalProperties: false
     *             properties:
     *               oldPassword: { type: string }
     *               newPassword: { type: string, minLength: 8, maxLength: 128 }
     *     responses:
     *       204: { description: changed }
     *       400: { description: "VALIDATION_FAILED or WEAK_PASSWORD", content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } } }
     *       401: { $ref: '#/components/responses/Unauthenticated' }
     *       403: { description: "INVALID_CREDENTIALS: the old password is wrong", content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } } }
     *       429: { $ref: '#/components/responses/RateLimited' }
     */
    router.put(
      '/api/v1/users/me/password',
      auth,
      validate(requiredString('oldPassword', 1, 128), requiredString('newPassword', 1, 128)),
      async (req, res) => {
        const claims = authOf(req);
        // Each attempt checks a password, so a stolen token cannot guess the old one at full speed.
        await deps.limits.login.consume(`user:${claims.userId}`);
        const b = req.body as { oldPassword: string; newPassword: string };
        await deps.accounts.changePassword(claims, b.oldPassword, b.newPassword);
        res.status(204).end();
      },
    );

    /**
     * @openapi
     * /api/v1/users/{userId}:
     *   get:
     *     operationId: getUser
     *     tags: [Accounts]
     *     summary: A user's public profile
     *     description: >-
     *       A user who blocks the caller shows `online: false` and `presence: offline` to them, as an invisible
     *       user does.
     *     parameters:
     *       - { in: path, name: userId, required: true, schema: { type: string } }
     *     responses:
     *       200: { description: the user, content: { application/json: { schema: { $ref: '#/components/schemas/User' } } } }
     *       400: { $ref: '#/components/responses/BadRequest' }
     *       401: { $ref: '#/components/responses/Unauthenticated' }
     *       404: { description: "USER_NOT_FOUND (also for disabled and deleted users)", content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } } }
     */
    router.get('/api/v1/users/:userId', auth, validate(idParam('userId')), async (req, res) => {
      res.json(await deps.accounts.getPublic(String(req.params.userId), authOf(req).userId));
    });

    /**
     * @openapi
     * /api/v1/users:
     *   get:
     *     operationId: searchUsers
     *     tags: [Accounts]
     *     summary: Search active users by nickname prefix (ordered by nickname) or exact id (listed first)
     *     description: >-
     *       Users who block the caller are never listed (neither by nickname nor by id), and never disabled or
     *       deleted users.
     *     parameters:
     *       - { in: query, name: q, required: true, schema: { type: string, minLength: 1, maxLength: 64 } }
     *       - { in: query, name: cursor, description: "nextCursor of the previous page", schema: { type: string } }
     *       - { in: query, name: limit, schema: { type: integer, minimum: 1, maximum: 100, default: 20 } }
     *     responses:
     *       200: { description: a page of users, content: { application/json: { schema: { $ref: '#/components/schemas/UserPage' } } } }
     *       400: { $ref: '#/components/responses/BadRequest' }
     *       401: { $ref: '#/components/responses/Unauthenticated' }
     */
    router.get(
      '/api/v1/users',
      auth,
      validate(
        lengthIn(query('q').isString().withMessage('is required').bail().trim(), 1, 64),
        ...pageQuery(100),
        query('cursor')
          .optional()
          .matches(/^[A-Za-z0-9_-]+$/)
          .withMessage('must be a cursor from a previous page'),
      ),
      async (req, res) => {
        res.json(
          await deps.accounts.search(
            String(req.query.q).trim(),
            req.query.cursor ? String(req.query.cursor) : null,
            limitOf(req.query.limit),
            authOf(req).userId,
          ),
        );
      },
    );

    /**
     * @openapi
     * /api/v1/admin/users/{userId}/status:
     *   put:
     *     operationId: setUserStatus
     *     tags: [Accounts]
     *     summary: Enable, disable or delete an account (administrators only)
     *     description: >-
     *       Administrators are users with `role` `admin`. Leaving `active` cuts the account off at once, on
     *       every instance: its REST calls get 401 UNAUTHENTICATED, its login 403 ACCOUNT_DISABLED (a deleted
     *       account's login answers 401 INVALID_CREDENTIALS), and its open WebSocket connections are closed with
     *       4003 `account disabled` before this answers. Setting `active` again lets its unexpired tokens work
     *       again. A status changed directly in the database is noticed by every instance within
     *       `ws.accountCheckSeconds` (default 30).
     *     parameters:
     *       - { in: path, name: userId, required: true, schema: { type: string } }
     *     requestBody:
     *       required: true
     *       content:
     *         application/json:
     *           schema:
     *             type: object
     *             required: [status]
     *             additionalProperties: false
     *             properties:
     *               status: { type: string, enum: [active, disabled, deleted] }
     *     responses:
     *       204: { description: the status is set (also when it already was) }
     *       400: { description: "VALIDATION_FAILED (also for your own account)", content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } } }
     *       401: { $ref: '#/components/responses/Unauthenticated' }
     *       403: { $ref: '#/components/responses/Forbidden' }
     *       404: { description: USER_NOT_FOUND, content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } } }
     */
    router.put(
      '/api/v1/admin/users/:userId/status',
      auth,
      validate(
        idParam('userId'),
        body('status')
          .isString()
          .withMessage(`must be one of ${STATUSES.join(', ')}`)
          .bail()
          .isIn(STATUSES)
          .withMessage(`must be one of ${STATUSES.join(', ')}`),
      ),
      async (req, res) => {
        await deps.accounts.setStatus(
          authOf(req).userId,
          String(req.params.userId),
          (req.body as { status: UserStatus }).status,
        );
        res.status(204).end();
      },
    );
  };
}
