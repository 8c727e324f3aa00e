import type svgCaptchaModule from 'svg-captcha';
import type { ShortLivedStore } from '../../shared/short-lived';
import { randomToken } from '../../shared/ids';

// The drawing library (with its font) loads on the first captcha, not at start.
let loading: Promise<unknown> | null = null;

/** SVG captchas whose answers are short-lived keys `captcha:<id>`, single use, with a TTL. */
export class CaptchaService {
  constructor(
    private readonly answers: ShortLivedStore,
    private readonly ttlSeconds: number,
    readonly enabled: boolean,
  ) {}

  /** Makes a new captcha and stores its answer. */
  async create(): Promise<{ captchaId: string; svg: string }> {
    const svgCaptcha = ((await (loading ??= import('svg-captcha'))) as { default: typeof svgCaptchaModule })
      .default;
    const c = svgCaptcha.create({ size: 4, noise: 2, ignoreChars: '0oO1ilI' });
    const captchaId = randomToken(16);
    await this.answers.set(`captcha:${captchaId}`, c.text.toLowerCase(), this.ttlSeconds);
    return { captchaId, svg: c.data };
  }

  /** Consumes the captcha (whatever the outcome) and tells whether the answer matched, ignoring case. */
  async verify(captchaId: string | undefined, answer: string | undefined): Promise<boolean> {
    if (!captchaId || !answer || !/^[A-Za-z0-9_-]{1,64}$/.test(captchaId)) return false;
    const stored = await this.answers.getDel(`captcha:${captchaId}`);
    return stored !== null && stored === answer.trim().toLowerCase();
  }
}
