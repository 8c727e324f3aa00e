import { JimApiError } from '@jim/client';
import { useState } from 'preact/hooks';
import type { Store } from './store';

/** Sign-in and registration, with the captcha image when the server asks for it. */
export function AuthScreen({ store }: { store: Store }) {
  const [mode, setMode] = useState<'login' | 'register'>('login');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [nickname, setNickname] = useState('');
  const [captcha, setCaptcha] = useState<{ captchaId: string; svg: string } | null>(null);
  const [code, setCode] = useState('');
  const [error, setError] = useState<string | null>(store.notice);
  const [busy, setBusy] = useState(false);

  const loadCaptcha = async () => {
    const { data } = await store.client.api.GET('/api/v1/captcha');
    if (data) setCaptcha({ captchaId: String(data.captchaId), svg: String(data.svg) });
    setCode('');
  };

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const proof = captcha ? { captchaId: captcha.captchaId, captchaCode: code } : {};
    try {
      if (mode === 'login') await store.client.login({ username, password, ...proof });
      else await store.client.register({ username, password, ...(nickname ? { nickname } : {}), ...proof });
      await store.start();
    } catch (err) {
      const e = err as JimApiError;
      if (e.code === 'CAPTCHA_INVALID' || e.code === 'CAPTCHA_REQUIRED') {
        setError(
          captcha ? 'The characters did not match. Try the new image.' : 'Enter the characters in the image.',
        );
        await loadCaptcha();
      } else setError(messageOf(e));
    } finally {
      setBusy(false);
    }
  };

  const other = mode === 'login' ? 'register' : 'login';
  return (
    <main class="auth">
      <h1>JIM</h1>
      <form onSubmit={submit} aria-labelledby="auth-title">
        <h2 id="auth-title">{mode === 'login' ? 'Sign in' : 'Create an account'}</h2>
        <label>
          Username
          <input
            name="username"
            autocomplete="username"
            required
            value={username}
            onInput={(e) => setUsername(e.currentTarget.value)}
          />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autocomplete={mode === 'login' ? 'current-password' : 'new-password'}
            required
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </label>
        {mode === 'register' && (
          <label>
            Nickname (optional)
            <input name="nickname" value={nickname} onInput={(e) => setNickname(e.currentTarget.value)} />
          </label>
        )}
        {captcha && (
          <div class="captcha">
            <img
              src={`data:image/svg+xml;utf8,${encodeURIComponent(captcha.svg)}`}
              alt="Captcha: type the characters shown"
            />
            <button type="button" onClick={() => void loadCaptcha()}>
              New image
            </button>
            <label>
              Characters in the image
              <input name="captcha" required value={code} onInput={(e) => setCode(e.currentTarget.value)} />
            </label>
          </div>
        )}
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button class="primary" type="submit" disabled={busy}>
          {mode === 'login' ? 'Sign in' : 'Register'}
        </button>
        <button
          type="button"
          class="link"
          onClick={() => {
            setMode(other);
            setError(null);
          }}
        >
          {mode === 'login' ? 'No account? Register' : 'Have an account? Sign in'}
        </button>
      </form>
    </main>
  );
}

/** A person-readable text for an API error. */
export function messageOf(err: unknown): string {
  if (err instanceof JimApiError) {
    const detail = Array.isArray(err.details)
      ? err.details.map((d) => (d as { message?: string }).message).filter(Boolean)
      : [];
    return detail.length ? `${err.message}: ${detail.join(', ')}` : err.message;
  }
  return 'Something went wrong. Try again.';
}
