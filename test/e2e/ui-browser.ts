import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** Debian's Chromium (no browser download), headless, with nothing phoning home. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
}

/**
 * A browser context for the explorer at `origin`: laptop-sized unless told, clipboard allowed
 * (the copy buttons), and `token` stored as the explorer stores it, before any page script runs.
 */
export async function explorerContext(
  browser: Browser,
  origin: string,
  opts: { token?: string; viewport?: { width: number; height: number }; deviceScaleFactor?: number } = {},
): Promise<BrowserContext> {
  const context = await browser.newContext({
    viewport: opts.viewport ?? { width: 1280, height: 900 },
    deviceScaleFactor: opts.deviceScaleFactor ?? 1,
  });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
  if (opts.token)
    await context.addInitScript(
      `try { if (!sessionStorage.getItem('seeded')) { localStorage.setItem('refgraph.apiToken', ${JSON.stringify(opts.token)}); sessionStorage.setItem('seeded', '1'); } } catch {}`,
    );
  return context;
}

/** A laptop-sized explorer page at `origin` with `token`, in a browser of its own; close() ends both. */
export async function explorerPage(
  origin: string,
  token: string,
): Promise<{ page: Page; close(): Promise<void> }> {
  const browser = await launchChromium();
  const page = await (await explorerContext(browser, origin, { token })).newPage();
  return { page, close: () => browser.close() };
}

/** With REFGRAPH_SCREENSHOTS=<dir> (`node scripts/screenshots.mjs`), saves the page as a PNG. */
export async function shot(p: Page, name: string, fullPage = true): Promise<void> {
  const dir = process.env.REFGRAPH_SCREENSHOTS;
  if (dir) await p.screenshot({ path: join(dir, `${name}.png`), fullPage });
}

export const SCREENSHOTS = process.env.REFGRAPH_SCREENSHOTS;
