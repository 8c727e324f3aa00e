import { body, query } from 'express-validator';
import { ValidationError } from '../../shared/errors';
import {
  idParam,
  lengthIn,
  optionalString,
  optionalUrl,
  pageQuery,
  requiredString,
} from '../../shared/validators';
import type { UserStatus } from './accounts.store';

/** What a username may be (the login throttle keys on it, so login checks it too). */
export const USERNAME_RE = /^[A-Za-z0-9_.-]{3,32}$/;
const USERNAME_CHARS = 'may contain only letters, digits, _ . -';
const PRESENCES = ['online', 'away', 'busy', 'invisible'];
const STATUSES: UserStatus[] = ['active', 'disabled', 'deleted'];

/** Throws VALIDATION_FAILED unless `username` has the username format (as the routes check it). */
export function assertUsername(username: unknown): void {
  if (typeof username === 'string' && USERNAME_RE.test(username)) return;
  throw new ValidationError('Request validation failed', [{ field: 'username', message: USERNAME_CHARS }]);
}

/** The username field, on registration and on login alike. */
function usernameField() {
  return requiredString('username', 3, 32).bail().matches(USERNAME_RE).withMessage(USERNAME_CHARS);
}

function nicknameField() {
  return optionalString('nickname', 1, 64)
    .bail()
    .custom((v: string) => v.trim().length > 0)
    .withMessage('must not be blank');
}

function birthDateField() {
  return body('birthDate')
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
}

const captchaFields = () => [optionalString('captchaId', 1, 64), optionalString('captchaCode', 1, 16)];

/** POST /api/v1/auth/register. */
export const registerRules = [
  usernameField(),
  requiredString('password', 1, 128),
  nicknameField(),
  birthDateField(),
  ...captchaFields(),
];

/** POST /api/v1/auth/login. */
export const loginRules = [usernameField(), requiredString('password', 1, 128), ...captchaFields()];

/** PATCH /api/v1/users/me. */
export const profileRules = [
  nicknameField(),
  optionalUrl('avatar'),
  birthDateField(),
  body('presence')
    .optional()
    .isString()
    .withMessage(`must be one of ${PRESENCES.join(', ')}`)
    .bail()
    .isIn(PRESENCES)
    .withMessage(`must be one of ${PRESENCES.join(', ')}`),
];

/** PUT /api/v1/users/me/password. */
export const passwordRules = [requiredString('oldPassword', 1, 128), requiredString('newPassword', 1, 128)];

/** GET /api/v1/users/:userId. */
export const userRules = [idParam('userId')];

/** GET /api/v1/users (search). */
export const searchRules = [
  lengthIn(query('q').isString().withMessage('is required').bail().trim(), 1, 64),
  ...pageQuery(100),
  query('cursor')
    .optional()
    .matches(/^[A-Za-z0-9_-]+$/)
    .withMessage('must be a cursor from a previous page'),
];

/** PUT /api/v1/admin/users/:userId/status. */
export const statusRules = [
  idParam('userId'),
  body('status')
    .isString()
    .withMessage(`must be one of ${STATUSES.join(', ')}`)
    .bail()
    .isIn(STATUSES)
    .withMessage(`must be one of ${STATUSES.join(', ')}`),
];
