import type { Request, Response, Router } from 'express';
import { limitPerUser, type Limiter } from '../../shared/rate-limit';
import { validate } from '../../shared/validation';
import { limitOf } from '../../shared/validators';
import { authOf, requireAuth } from './auth.middleware';
import type { AccountsService } from './accounts.service';
import type { UserStatus } from './accounts.store';
import * as v from './accounts.validation';
import type { CaptchaService } from './captcha.service';
import type { TokenService } from './tokens';

export interface AccountsRoutesDeps {
  accounts: AccountsService;
  captcha: CaptchaService;
  tokens: TokenService;
  limits: { login: Limiter; register: Limiter; captcha: Limiter; profileChanges: Limiter };
}

type Handler = (req: Request, res: Response) => Promise<void>;
type Body = Record<string, string | undefined>;

function clientIp(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}

/** The accounts routes (described in accounts.openapi.yaml, checked by accounts.validation.ts). */
export function accountsRoutes(deps: AccountsRoutesDeps) {
  const auth = requireAuth(deps.tokens);
  const { accounts, limits } = deps;
  const profileLimit = limitPerUser(limits.profileChanges);

  const captcha: Handler = async (req, res) => {
    await limits.captcha.consume(clientIp(req));
    res.set('Cache-Control', 'no-store');
    res.json(await deps.captcha.create());
  };
  const register: Handler = async (req, res) => {
    await limits.register.consume(clientIp(req));
    const b = req.body as Body;
    const session = await accounts.register({
      username: b.username!,
      password: b.password!,
      nickname: b.nickname,
      birthDate: b.birthDate ?? null,
      captchaId: b.captchaId,
      captchaCode: b.captchaCode,
    });
    res.locals.userId = session.user.id;
    res.status(201).json(session);
  };
  const login: Handler = async (req, res) => {
    const ip = clientIp(req);
    await limits.login.consume(ip);
    const { username, password, captchaId, captchaCode } = req.body as Body;
    const session = await accounts.login({
      username: username!,
      password: password!,
      captchaId,
      captchaCode,
      ip,
    });
    res.locals.userId = session.user.id;
    res.json(session);
  };
  const logout: Handler = async (req, res) => {
    await accounts.logout(authOf(req));
    res.status(204).end();
  };
  const me: Handler = async (req, res) => {
    res.json(await accounts.me(authOf(req).userId));
  };
  const updateMe: Handler = async (req, res) => {
    const b = req.body as Record<string, string | null | undefined>;
    const changes = { nickname: b.nickname?.trim(), avatar: b.avatar, birthDate: b.birthDate };
    const presence = b.presence as 'online' | undefined;
    res.json(await accounts.updateProfile(authOf(req).userId, { ...changes, presence }));
  };
  const changePassword: Handler = async (req, res) => {
    const claims = authOf(req);
    // Each attempt checks a password, so a stolen token cannot guess the old one at full speed.
    await limits.login.consume(`user:${claims.userId}`);
    const b = req.body as { oldPassword: string; newPassword: string };
    await accounts.changePassword(claims, b.oldPassword, b.newPassword);
    res.status(204).end();
  };
  const user: Handler = async (req, res) => {
    res.json(await accounts.getPublic(String(req.params.userId), authOf(req).userId));
  };
  const search: Handler = async (req, res) => {
    const cursor = req.query.cursor ? String(req.query.cursor) : null;
    const q = String(req.query.q).trim();
    res.json(await accounts.search(q, cursor, limitOf(req.query.limit), authOf(req).userId));
  };
  const setStatus: Handler = async (req, res) => {
    const { status } = req.body as { status: UserStatus };
    await accounts.setStatus(authOf(req).userId, String(req.params.userId), status);
    res.status(204).end();
  };

  return (router: Router): void => {
    router.get('/api/v1/captcha', captcha);
    router.post('/api/v1/auth/register', validate(...v.registerRules), register);
    router.post('/api/v1/auth/login', validate(...v.loginRules), login);
    router.post('/api/v1/auth/logout', auth, validate(), logout);
    router.get('/api/v1/users/me', auth, me);
    router.patch('/api/v1/users/me', auth, validate(...v.profileRules), profileLimit, updateMe);
    router.put('/api/v1/users/me/password', auth, validate(...v.passwordRules), changePassword);
    router.get('/api/v1/users/:userId', auth, validate(...v.userRules), user);
    router.get('/api/v1/users', auth, validate(...v.searchRules), search);
    router.put('/api/v1/admin/users/:userId/status', auth, validate(...v.statusRules), setStatus);
  };
}
