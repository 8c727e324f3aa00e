import createClient, { type Client, type Middleware } from 'openapi-fetch';
import type { components, paths } from './generated/api';

export type { components, paths };

/** The typed REST client (openapi-fetch) over the server's OpenAPI document. */
export type RestClient = Client<paths>;

type Schemas = components['schemas'];
export type User = Schemas['User'];
export type PrivateUser = Schemas['PrivateUser'];
export type Session = Schemas['Session'];
export type Message = Schemas['Message'];
export type Conversation = Schemas['Conversation'];
export type Friend = Schemas['Friend'];
export type FriendRequest = Schemas['FriendRequest'];
export type Group = Schemas['Group'];
export type GroupMember = Schemas['GroupMember'];
export type MessageType = Message['type'];

/** An error answer of the API (`{error: {code, message, requestId, details?}}`) or a network failure. */
export class JimApiError extends Error {
  constructor(
    /** HTTP status; 0 when the server could not be reached. */
    readonly status: number,
    /** The stable error code (`VALIDATION_FAILED`, `NOT_FRIENDS`, …; `NETWORK` when unreachable). */
    readonly code: string,
    message: string,
    readonly details: unknown[] | null = null,
    readonly requestId: string | null = null,
  ) {
    super(message);
    this.name = 'JimApiError';
  }
}

interface ErrorBody {
  error?: { code?: string; message?: string; requestId?: string | null; details?: unknown[] };
}

/** Turns an openapi-fetch result into its data, or throws a JimApiError with the server's code. */
export async function unwrap<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await call;
  } catch (err) {
    if (err instanceof JimApiError) throw err;
    throw new JimApiError(0, 'NETWORK', (err as Error)?.message ?? 'network error');
  }
  if (result.response.ok) return result.data as T;
  const body = (result.error ?? {}) as ErrorBody;
  throw new JimApiError(
    result.response.status,
    body.error?.code ?? 'HTTP_' + result.response.status,
    body.error?.message ?? result.response.statusText,
    body.error?.details ?? null,
    body.error?.requestId ?? null,
  );
}

export interface RestOptions {
  baseUrl: string;
  token: () => string | null;
  /** Called when an authenticated call answers 401 (expired or revoked token). */
  onUnauthorized: () => void;
  fetch?: typeof fetch;
}

/** Creates the typed REST client: adds the bearer token and reports 401s. */
export function createRestClient(options: RestOptions): RestClient {
  const client = createClient<paths>({
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  const auth: Middleware = {
    onRequest({ request }) {
      const token = options.token();
      const open = /\/api\/v1\/(auth\/(login|register)|captcha)$/.test(new URL(request.url).pathname);
      if (token && !open && !request.headers.has('authorization'))
        request.headers.set('authorization', `Bearer ${token}`);
      return request;
    },
    onResponse({ request, response }) {
      if (response.status === 401 && request.headers.has('authorization')) options.onUnauthorized();
      return response;
    },
  };
  client.use(auth);
  return client;
}
