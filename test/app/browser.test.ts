import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import AxeBuilder from '@axe-core/playwright';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startTestApp, type TestApp } from '../helpers/app';
import { describeWith } from '../helpers/servers';
const needsServers = describeWith('mysql', 'redis');

const ROOT = path.resolve(__dirname, '../..');
// Screenshots go to docs/screenshots with UPDATE_SCREENSHOTS=1, else to a temporary folder.
const SHOTS = process.env.UPDATE_SCREENSHOTS
  ? path.join(ROOT, 'docs', 'screenshots')
  : fs.mkdtempSync(path.join(os.tmpdir(), 'jim-shots-'));

let app: TestApp;
let browser: Browser;

jest.setTimeout(300_000);

beforeAll(async () => {
  execFileSync(process.execPath, [path.join(ROOT, 'scripts/build-if-needed.js'), '--client'], { cwd: ROOT });
  app = await startTestApp();
  // Playwright starts Chromium on a fresh temporary profile (user-data-dir) of its own.
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
});

/** Fails on any serious or critical accessibility violation of the page as it is. */
async function expectAccessible(page: Page, screen: string): Promise<void> {
  const result = await new AxeBuilder({ page }).analyze();
  const bad = result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${screen}: ${v.id} (${v.nodes.map((n) => n.target.join(' ')).join('; ')})`);
  expect(bad).toEqual([]);
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
}

async function register(context: BrowserContext, username: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${app.instance.url}/app`);
  await page.getByRole('button', { name: 'No account? Register' }).click();
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill('Passw0rd!');
  await page.getByLabel('Nickname (optional)').fill(username.replace(/_.*/, ''));
  await page.getByRole('button', { name: 'Register', exact: true }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
  return page;
}

function messages(page: Page) {
  return page.getByRole('list', { name: 'Messages' });
}

function chatItem(page: Page, title: string) {
  return page.getByRole('list', { name: 'Conversations' }).getByRole('button', { name: new RegExp(title) });
}

needsServers('web app at /app in Chromium', () => {
  it('serves a small bundle with no outside requests', async () => {
    const assets = path.join(ROOT, 'app', 'dist', 'assets');
    const js = fs.readdirSync(assets).filter((f) => f.endsWith('.js'));
    const gzipped = js.reduce((n, f) => n + zlib.gzipSync(fs.readFileSync(path.join(assets, f))).length, 0);
    expect(gzipped).toBeLessThanOrEqual(150 * 1024);
    const html = fs.readFileSync(path.join(ROOT, 'app', 'dist', 'index.html'), 'utf8');
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    const res = await app.http.get('/app/');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
  });

  it('lets two people register, befriend, chat with pushes, catch up after closing the page, and stays accessible', async () => {
    const a = await browser.newContext({ viewport: { width: 1100, height: 720 } });
    const b = await browser.newContext({
      viewport: { width: 375, height: 740 },
      isMobile: true,
      hasTouch: true,
    });
    const outside: string[] = [];
    for (const ctx of [a, b]) {
      ctx.on('request', (r) => {
        if (
          !r.url().startsWith(app.instance.url.replace('http', 'ws')) &&
          !r.url().startsWith(app.instance.url)
        )
          if (!r.url().startsWith('data:')) outside.push(r.url());
      });
    }

    const probe = await a.newPage();
    await probe.goto(`${app.instance.url}/app`);
    await probe.getByRole('heading', { name: 'Sign in' }).waitFor();
    await expectAccessible(probe, 'sign in');
    await shot(probe, 'sign-in');
    await probe.close();

    const tag = String(Date.now() % 100000);
    const pa = await register(a, `alice_${tag}`);
    const pb = await register(b, `bob_${tag}`);

    // A finds B by name and asks; B accepts from the pushed request.
    await pa.getByRole('button', { name: 'Friends' }).click();
    await pa.getByLabel('Find people (name, id or user@domain)').fill('bob');
    await pa.keyboard.press('Enter');
    await pa.getByRole('button', { name: 'Add bob' }).click();
    await pa.getByRole('status').filter({ hasText: 'Friend request sent' }).waitFor();
    await expectAccessible(pa, 'friends');
    await shot(pa, 'friends');
    await pb.getByRole('button', { name: 'Friends' }).click();
    await pb.getByRole('button', { name: 'Accept alice' }).click();
    await pb.getByRole('list', { name: 'Friends' }).getByText('alice').waitFor();

    // A opens the conversation and sends with Enter; B sees it pushed, with an unread count.
    await pa.getByRole('button', { name: 'Message bob' }).click();
    const composerA = pa.getByLabel('Message', { exact: true });
    await composerA.fill('Hello Bob 👋');
    await composerA.press('Enter');
    await pb.getByRole('button', { name: 'Chats' }).click();
    await chatItem(pb, 'alice').getByTestId('unread').filter({ hasText: '1' }).waitFor();
    await expectAccessible(pb, 'chat list (375 px)');
    await shot(pb, 'chats-mobile');
    expect(await pb.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);

    await chatItem(pb, 'alice').click();
    await messages(pb).getByText('Hello Bob 👋').waitFor();
    // B types: A sees the typing indicator, then the reply, and its own message marked read.
    const composerB = pb.getByLabel('Message', { exact: true });
    await composerB.pressSequentially('Hi');
    await pa.getByText('bob typing…').waitFor();
    await pb.getByRole('button', { name: 'Emoji' }).click();
    await pb.getByRole('dialog', { name: 'Emoji' }).waitFor();
    await pb.keyboard.press('Escape');
    await pb.getByRole('dialog', { name: 'Emoji' }).waitFor({ state: 'detached' });
    await expect(pb.evaluate('document.activeElement.id')).resolves.toBe('composer-text');
    await composerB.press('Enter');
    await messages(pa).getByText('Hi', { exact: true }).waitFor();
    await pa.getByText('· Read').waitFor();
    await expectAccessible(pa, 'conversation');
    await shot(pa, 'conversation');
    await expectAccessible(pb, 'conversation (375 px)');
    await shot(pb, 'conversation-mobile');

    // B closes the page; A sends three; B comes back and finds them, counted as unread.
    await pb.close();
    for (const text of ['one', 'two', 'three']) {
      await composerA.fill(`while away ${text}`);
      await composerA.press('Enter');
    }
    // Stored messages carry their seq; queued ones do not yet (sends of a conversation are acked in order).
    await messages(pa).locator('li[data-seq]').filter({ hasText: 'while away three' }).waitFor();
    await expect(pa.getByText('Sending…').count()).resolves.toBe(0);
    const pb2 = await b.newPage();
    await pb2.goto(`${app.instance.url}/app`);
    await chatItem(pb2, 'alice').getByTestId('unread').filter({ hasText: '3' }).waitFor();
    await chatItem(pb2, 'alice').click();
    for (const text of ['one', 'two', 'three']) await messages(pb2).getByText(`while away ${text}`).waitFor();
    await expect(chatItem(pb2, 'alice').getByTestId('unread').count()).resolves.toBe(0);

    // Groups: A creates one and invites B.
    await pa.getByRole('button', { name: 'Groups' }).click();
    await pa.getByLabel('New group name').fill('Team');
    await pa.getByRole('button', { name: 'Create group' }).click();
    await pa.getByRole('button', { name: 'Members of Team' }).click();
    await pa.getByLabel('Invite a friend').selectOption({ label: 'bob' });
    await pa.getByRole('button', { name: 'Invite', exact: true }).click();
    await pa.getByRole('region', { name: 'Members of Team' }).getByText('bob').waitFor();
    await expectAccessible(pa, 'groups');
    await shot(pa, 'groups');

    expect(outside).toEqual([]);
    await a.close();
    await b.close();
  });
});
