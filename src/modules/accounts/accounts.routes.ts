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

export function accountsRoutes(deps: AccountsRoutesDeps) {
  const auth = requireAuth(deps.tokens);
  return (router: Router): void => {
    router.get('/api/v1/captcha', async (req, res) => {
      await deps.limits.captcha.consume(clientIp(req));
      res.set('Cache-Control', 'no-store');
      res.json(await deps.captcha.create());
    });

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

    router.post('/api/v1/auth/logout', auth, validate(), async (req, res) => {
      await deps.accounts.logout(authOf(req));
      res.status(204).end();
    });

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

    router.get('/api/v1/users/:userId', auth, validate(idParam('userId')), async (req, res) => {
      res.json(await deps.accounts.getPublic(String(req.params.userId), authOf(req).userId));
    });

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
