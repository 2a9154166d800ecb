import type { Browser, BrowserContext, Page } from 'playwright-core';
import { explorerContext, launchChromium, shot } from './ui-browser.js';
import { EMPTY_TOKEN, startEmptyRefgraph } from './ui-world.js';

/**
 * The explorer on first run (no registry configured, reads behind a token): it says what to do
 * next, and the token button says what the server made of the token.
 */

let empty: Awaited<ReturnType<typeof startEmptyRefgraph>>;
let browser: Browser;
let context: BrowserContext;
let page: Page;

beforeAll(async () => {
  empty = await startEmptyRefgraph();
  browser = await launchChromium();
  context = await explorerContext(browser, empty.refgraph.url);
  page = await context.newPage();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await empty?.close();
});

/** Saves a token through the dialog, as a user does. */
async function saveToken(token: string) {
  await page.locator('#token-button').click();
  await page.getByRole('textbox', { name: 'Token' }).fill(token);
  await page.getByRole('button', { name: 'Save' }).click();
}

describe('the explorer on first run', () => {
  it('says a token is needed when the server answers 401 to a call without one', async () => {
    await page.goto(`${empty.refgraph.url}/ui`);
    const button = page.locator('#token-button');
    await page.locator('#token-button[data-state="required"]').waitFor();
    await expect(button.innerText()).resolves.toBe('API token needed');
    await expect(page.locator('main').innerText()).resolves.toContain('set an API token');
  });

  it('shows a rejected token as rejected, not as set', async () => {
    await saveToken('not-a-token-the-server-knows');
    await page.locator('#token-button[data-state="rejected"]').waitFor();
    await expect(page.locator('#token-button').innerText()).resolves.toBe('API token ✗ rejected');
    await expect(page.locator('#token-button').getAttribute('aria-label')).resolves.toContain(
      'rejected by the server',
    );
  });

  it('with an accepted token and no registry configured, explains the next step', async () => {
    await saveToken(EMPTY_TOKEN);
    await page.locator('#token-button[data-state="accepted"]').waitFor();
    await expect(page.locator('#token-button').innerText()).resolves.toBe('API token ✓');
    const next = page.locator('#next-step');
    await next.waitFor();
    await expect(next.getByRole('heading').innerText()).resolves.toBe('No registry is configured yet');
    const text = await next.innerText();
    expect(text).toContain('registries:');
    expect(text).toContain('refgraph.yaml');
    expect(text).toContain(`${empty.refgraph.url}/webhooks/<registry-name>`);
    expect(text).toContain('refgraph sync <registry-name>');
    await expect(page.locator('main').innerText()).resolves.not.toContain('None known yet');
    await shot(page, 'first-run');
  });

  it('says what the ingestion history needs when the token may only read', async () => {
    await page.goto(`${empty.refgraph.url}/ui#/activity`);
    await page.locator('section[aria-labelledby="reg-h"]').getByText('No registry is configured.').waitFor();
    await expect(page.locator('main').innerText()).resolves.toContain('admin scope');
    // A 403 for a scope is still an accepted token.
    await expect(page.locator('#token-button').getAttribute('data-state')).resolves.toBe('accepted');
  });
});

describe('the explorer with a registry configured and nothing recorded', () => {
  it('names the registry and says how to get its content in', async () => {
    const configured = await startEmptyRefgraph({ registry: true });
    const ctx = await explorerContext(browser, configured.refgraph.url, { token: EMPTY_TOKEN });
    try {
      const p = await ctx.newPage();
      await p.goto(`${configured.refgraph.url}/ui`);
      const next = p.locator('#next-step');
      await next.waitFor();
      await expect(next.getByRole('heading').innerText()).resolves.toBe('Nothing recorded yet');
      const text = await next.innerText();
      expect(text).toContain('Configured: local.');
      expect(text).toContain('refgraph sync local');
    } finally {
      await ctx.close();
      await configured.close();
    }
  });

  it("the GraphQL IDE sends the explorer's token and opens with example queries", async () => {
    const ide = await explorerContext(browser, empty.refgraph.url, { token: EMPTY_TOKEN });
    try {
      const p = await ide.newPage();
      const request = p.waitForRequest((r) => r.url().endsWith('/graphql') && r.method() === 'POST');
      await p.goto(`${empty.refgraph.url}/graphql/ide`);
      const sent = await request;
      expect(sent.headers().authorization).toBe(`Bearer ${EMPTY_TOKEN}`);
      expect((await sent.response())!.status()).toBe(200);
      await p.locator('.graphiql-query-editor').waitFor();
      await expect(p.locator('.graphiql-query-editor').innerText()).resolves.toContain('query Artifacts');
    } finally {
      await ide.close();
    }
  });
});
