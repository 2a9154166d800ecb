import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { eventually } from './harness.js';
import {
  BUILDER,
  graphql,
  IDENTITY,
  ISSUER,
  MALLORY,
  REFERENCE,
  REVISION,
  SOURCE,
  startUiWorld,
  type UiWorld,
} from './ui-world.js';

/**
 * The explorer in Debian's Chromium (no browser download), against a graph built from the real
 * registry. With REFGRAPH_SCREENSHOTS=<dir> (`node scripts/screenshots.mjs`) it also saves the
 * main views as PNGs.
 */

const SHOTS = process.env.REFGRAPH_SCREENSHOTS;
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

let world: UiWorld;
let browser: Browser;
let page: Page;
const external: string[] = [];

async function shot(name: string, p: Page = page, fullPage = true) {
  if (SHOTS) await p.screenshot({ path: join(SHOTS, `${name}.png`), fullPage });
}

beforeAll(async () => {
  world = await startUiWorld();
  // Until signatures, the attestation, the SBOM and the nested referrer are all in the graph.
  await eventually(async () => {
    const data = await graphql<{ artifact: Record<string, any> }>(
      world.refgraph.url,
      `
        query ($d: String!) {
          artifact(digest: $d) {
            signatures {
              status
            }
            attestations {
              builderId
            }
            sbom {
              packageCount
            }
            children {
              digest
            }
            referrers(first: 20) {
              edges {
                node {
                  kind
                }
              }
            }
          }
        }
      `,
      { d: world.index.digest },
    );
    const a = data.artifact;
    // The attestation is a signed DSSE bundle: its verification belongs to the attestation, not
    // to the signatures over the index.
    expect(a.signatures.map((s: { status: string }) => s.status).sort()).toEqual(['failed', 'verified']);
    expect(a.attestations).toEqual([expect.objectContaining({ builderId: BUILDER })]);
    expect(a.sbom).toEqual({ packageCount: 34 });
    expect(a.children).toHaveLength(2);
    expect(a.referrers.edges).toHaveLength(4);
  }, 90_000);
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
  page = await context.newPage();
  // Air-gapped: nothing may leave the service's origin.
  page.on('request', (req) => {
    if (
      !req.url().startsWith(world.refgraph.url) &&
      !req.url().startsWith(world.refgraph.url.replace('http', 'ws'))
    )
      external.push(req.url());
  });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await world?.close();
});

describe('the explorer at /ui', () => {
  it('is served publicly, from the service only, with a strict content security policy', async () => {
    const res = await fetch(`${world.refgraph.url}/ui`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    const vendor = await fetch(`${world.refgraph.url}/ui/vendor/graphql-ws.js`);
    expect(vendor.status).toBe(200);
    expect((await fetch(`${world.refgraph.url}/ui/..%2fpackage.json`)).status).toBe(404);
    expect((await fetch(`${world.refgraph.url}/ui/nope.js`)).status).toBe(404);
  });

  it('finds an image by reference and shows its signatures with identities and reasons', async () => {
    await page.goto(`${world.refgraph.url}/ui`);
    await page.getByRole('heading', { name: 'Indexes' }).waitFor();
    await shot('search');
    await page.getByLabel('Reference, digest or package URL').fill(REFERENCE);
    await page.keyboard.press('Enter');
    await page.waitForURL(`**/ui#/artifact/${world.index.digest}?ref=*`);
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe(REFERENCE);

    const sigs = page.locator('#signatures');
    const verified = sigs.locator('.sig-verified');
    const failed = sigs.locator('.sig-failed');
    await expect(verified.count()).resolves.toBe(1);
    await expect(failed.count()).resolves.toBe(1);
    await expect(verified.first().innerText()).resolves.toMatch(/Verified[\s\S]*Signer[\s\S]*/);
    await expect(verified.locator('.identity').allInnerTexts()).resolves.toEqual([IDENTITY]);
    await expect(verified.locator('.issuer').allInnerTexts()).resolves.toEqual([ISSUER]);
    await expect(failed.locator('.issuer').innerText()).resolves.toBe(ISSUER);
    await expect(failed.locator('.identity').innerText()).resolves.toBe(MALLORY);
    await expect(failed.locator('.reason').innerText()).resolves.toContain('identity_mismatch');

    const prov = page.locator('#provenance');
    await expect(prov.innerText()).resolves.toContain(BUILDER);
    await expect(prov.innerText()).resolves.toContain(SOURCE);
    await expect(prov.innerText()).resolves.toContain(REVISION);

    const where = page.locator('#where');
    await expect(where.innerText()).resolves.toMatch(/local\s+shop\/web\s+latest, v1/);
    expect(external).toEqual([]);
  });

  it('shows the referrers tree with kinds apart, and expands and collapses levels', async () => {
    const top = page.locator('#tree .tree-level[data-depth="1"] > li');
    await expect(top.count()).resolves.toBe(6);
    const chips = await page
      .locator('#tree .tree-level[data-depth="1"] > li > .tree-row > .chip')
      .allInnerTexts();
    expect(chips.sort()).toEqual(['Attestation', 'Image', 'Image', 'SBOM', 'Signature', 'Signature']);
    // Signatures in the tree carry their verification too.
    const sigItems = page.locator('#tree li.kind-signature');
    await expect(sigItems.locator('.badge-verified').count()).resolves.toBe(1);
    await expect(sigItems.locator('.badge-failed').count()).resolves.toBe(1);

    // Index children are shown with the platform the index lists them for.
    const amd64Row = page.locator(`#tree li[data-digest="${world.amd64.digest}"] > .tree-row`);
    await expect(amd64Row.innerText()).resolves.toContain('linux/amd64');
    const arm64Row = page.locator(`#tree li[data-digest="${world.arm64.digest}"] > .tree-row`);
    await expect(arm64Row.innerText()).resolves.toContain('linux/arm64/v8');

    // Expand the amd64 platform manifest with the keyboard: its own referrer appears one level down.
    const toggle = page.getByRole('button', { name: `Expand image ${world.amd64.digest}` });
    await toggle.focus();
    await page.keyboard.press('Enter');
    const nested = page.locator(
      `#tree li[data-digest="${world.amd64.digest}"] .tree-level[data-depth="2"] > li`,
    );
    await nested.first().waitFor();
    await expect(nested.locator('.chip').first().innerText()).resolves.toBe('Other');
    await expect(nested.innerText()).resolves.toContain('application/vnd.example.scan-report+json');
    await expect(
      page
        .getByRole('button', { name: `Collapse image ${world.amd64.digest}` })
        .getAttribute('aria-expanded'),
    ).resolves.toBe('true');
    await shot('artifact');
    await page.getByRole('button', { name: `Collapse image ${world.amd64.digest}` }).click();
    await expect(nested.count()).resolves.toBe(0);
    await page.getByRole('button', { name: 'Expand all levels' }).click();
    await nested.first().waitFor();
  });

  it('pages and filters the SBOM packages', async () => {
    const rows = page.locator('#sbom tbody tr');
    await eventually(async () => expect(await rows.count()).toBe(25));
    await expect(page.locator('#sbom .pager').innerText()).resolves.toContain('Packages 1–25 of 34');
    await page.locator('#sbom').getByRole('button', { name: 'Next →' }).click();
    await eventually(async () => expect(await rows.count()).toBe(9));
    await page.getByLabel('Filter packages by name or purl').fill('log4j');
    await eventually(async () =>
      expect(await rows.allInnerTexts()).toEqual([expect.stringContaining('log4j-core')]),
    );
    await expect(rows.first().innerText()).resolves.toContain(
      'pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1',
    );
    await page.locator('#sbom').screenshot(SHOTS ? { path: join(SHOTS, 'sbom.png') } : {});
  });

  it('shows a referrer pushed to the registry without a reload', async () => {
    await page.locator('#tree .live[data-status="live"]').waitFor();
    const before = await page.evaluate(() => performance.timeOrigin);
    const note = await world.pushNote();
    const item = page.locator(`#tree li[data-digest="${note.digest}"]`);
    await item.waitFor({ timeout: 30_000 });
    await expect(item.locator('.chip-new').innerText()).resolves.toBe('New');
    await expect(item.innerText()).resolves.toContain('application/vnd.example.release-note+json');
    // Same document: no navigation happened.
    expect(await page.evaluate(() => performance.timeOrigin)).toBe(before);
  });

  it('searches by package URL and by digest', async () => {
    await page.goto(`${world.refgraph.url}/ui#/search?q=${encodeURIComponent('pkg:deb/debian/openssl')}`);
    const link = page
      .getByRole('link', { name: 'local/shop/web:latest' })
      .or(page.getByRole('link', { name: REFERENCE }));
    await link.first().waitFor();
    await page.getByLabel('Reference, digest or package URL').fill(world.amd64.digest);
    await page.keyboard.press('Enter');
    await page.waitForURL(`**/ui#/artifact/${world.amd64.digest}*`);
    await expect(page.locator('.artifact-head').innerText()).resolves.toMatch(
      /listed by[\s\S]*local\/shop\/web/i,
    );
  });

  it('shows registries with their last event, and says what the ingestion history needs', async () => {
    await page.goto(`${world.refgraph.url}/ui#/activity`);
    const regs = page.locator('section[aria-labelledby="reg-h"] table');
    await regs.waitFor();
    await expect(regs.innerText()).resolves.toMatch(/local[\s\S]*distribution/);
    await expect(regs.locator('time').count()).resolves.toBe(1);
    await expect(page.locator('main').innerText()).resolves.toContain('admin scope');
    await shot('activity');
  });

  it('is readable on a phone', async () => {
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
    await phone.goto(`${world.refgraph.url}/ui#/artifact/${world.index.digest}`);
    await phone.locator('#signatures .sig-verified').first().waitFor();
    // Evaluated in the page (a string, as the test itself is typed for Node, not the DOM).
    const wide = await phone.evaluate<string[]>(`[...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest('.table-wrap'))
      .map((e) => e.tagName + '.' + e.className)`);
    expect(wide).toEqual([]);
    await shot('artifact-phone', phone, false);
    await phone.close();
  });
});
