import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { eventually } from './harness.js';
import { explorerContext, launchChromium, SCREENSHOTS as SHOTS, shot as save } from './ui-browser.js';
import {
  ADMIN_TOKEN,
  BUILDER,
  graphql,
  IDENTITY,
  ISSUER,
  MALLORY,
  PACKAGES,
  REFERENCE,
  REPO,
  REVISION,
  SOURCE,
  startUiWorld,
  VULN_SCAN,
  VULNERABLE_CVE,
  VULNERABLE_OTHER,
  type UiWorld,
} from './ui-world.js';

/**
 * The explorer in Debian's Chromium (no browser download), against a graph built from the real
 * registry. With REFGRAPH_SCREENSHOTS=<dir> (`node scripts/screenshots.mjs`) it also saves the
 * main views as PNGs.
 */

let world: UiWorld;
let browser: Browser;
let page: Page;
const external: string[] = [];

const shot = (name: string, p: Page = page, fullPage = true) => save(p, name, fullPage);

/** What the explorer prints for a byte count (dom.js `bytes`). */
function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

/** Config plus layers, from the bytes that were pushed. */
function imageSize(manifest: Buffer): number {
  const m = JSON.parse(manifest.toString('utf8')) as {
    config: { size: number };
    layers: Array<{ size: number }>;
  };
  return m.config.size + m.layers.reduce((n, l) => n + l.size, 0);
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
            tags
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
    // The search by reference resolves the tag from what was recorded; both tags' pushes are in.
    expect(a.tags).toEqual(expect.arrayContaining([REFERENCE, `local/${REPO}:latest`]));
    expect(a.referrers.edges).toHaveLength(4);
  }, 90_000);
  browser = await launchChromium();
  const context = await explorerContext(browser, world.refgraph.url, { token: ADMIN_TOKEN });
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

  it('lists the configured policies by name for a reader, and nothing without a token', async () => {
    const url = `${world.refgraph.url}/api/v1/policies`;
    expect((await fetch(url)).status).toBe(401);
    const res = await fetch(url, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(res.status).toBe(200);
    await expect(res.json()).resolves.toEqual({
      policies: [
        {
          name: 'release',
          requires: { signatures: ['ci'], attestations: ['https://slsa.dev/provenance/v1'], sbom: false },
        },
        { name: 'scanned', requires: { signatures: [], attestations: [VULN_SCAN], sbom: true } },
      ],
    });
  });

  it('answers "can I deploy this?" first: every policy allowed or denied, with the reasons', async () => {
    await page.goto(`${world.refgraph.url}/ui`);
    await page.getByRole('heading', { name: 'Indexes' }).waitFor();
    await shot('search');
    await page.getByLabel('Reference, digest, package URL or vulnerability').fill(REFERENCE);
    await page.keyboard.press('Enter');
    await page.waitForURL(`**/ui#/artifact/${world.index.digest}?ref=*`);
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe(REFERENCE);

    const release = page.locator('#deploy li[data-policy="release"]');
    const scanned = page.locator('#deploy li[data-policy="scanned"]');
    await scanned.waitFor();
    await expect(page.locator('#deploy .verdict-summary').innerText()).resolves.toBe(
      'Denied by 1 of 2 policies.',
    );
    await expect(release.locator('.verdict-answer').innerText()).resolves.toContain('Allowed');
    await expect(release.innerText()).resolves.toContain('verified signature by ci');
    await expect(scanned.locator('.verdict-answer').innerText()).resolves.toContain('Denied');
    await expect(scanned.locator('.req-failed').innerText()).resolves.toContain(
      `no ${VULN_SCAN} attestation found`,
    );
    await expect(scanned.locator('.req-ok').innerText()).resolves.toContain('1 SBOM(s)');
    await expect(page.locator('#deploy').innerText()).resolves.toContain(
      `local/shop/web@${world.index.digest}`,
    );
    // The answer first, then the evidence: signatures, attestations, SBOM, vulnerabilities, referrers, locations.
    const order = await page.evaluate<string[]>(
      `[...document.querySelectorAll('main section.card[id]')].map((e) => e.id)`,
    );
    expect(order).toEqual(['deploy', 'signatures', 'provenance', 'sbom', 'vulnerabilities', 'tree', 'where']);
  });

  it('lists verified signatures first, with identities and reasons', async () => {
    const sigs = page.locator('#signatures');
    const verified = sigs.locator('.sig-verified');
    const failed = sigs.locator('.sig-failed');
    await expect(verified.count()).resolves.toBe(1);
    await expect(failed.count()).resolves.toBe(1);
    await expect(sigs.locator('li.sig').first().getAttribute('class')).resolves.toContain('sig-verified');
    await expect(page.locator('.artifact-head .summary .badge').allInnerTexts()).resolves.toEqual([
      expect.stringContaining('Verified'),
      expect.stringContaining('Failed'),
    ]);
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

  it('says what the artifact is in plain words, and its size per platform from config and layers', async () => {
    const head = page.locator('.artifact-head');
    await expect(head.locator('.kind-words').innerText()).resolves.toBe('Multi-platform image');
    // An image's artifact type is its config media type: not worth a line.
    await expect(head.innerText()).resolves.not.toContain('application/vnd.oci.image');
    const size = head.locator('.size');
    await size.locator('.platform-sizes').waitFor();
    await expect(size.locator('li').allInnerTexts()).resolves.toEqual([
      `linux/amd64 ${bytes(imageSize(world.amd64.manifest))}`,
      `linux/arm64/v8 ${bytes(imageSize(world.arm64.manifest))}`,
    ]);
  });

  it('copies digests, references and the pull command', async () => {
    const head = page.locator('.artifact-head');
    await head.getByRole('button', { name: 'Copy digest' }).click();
    await expect(page.evaluate<string>('navigator.clipboard.readText()')).resolves.toBe(world.index.digest);
    const deploy = page.locator('#deploy');
    await expect(deploy.locator('.pull').innerText()).resolves.toBe(
      `docker pull ${world.registry.host}/shop/web@${world.index.digest}`,
    );
    await deploy.getByRole('button', { name: 'Copy pull command' }).click();
    await expect(page.evaluate<string>('navigator.clipboard.readText()')).resolves.toBe(
      `docker pull ${world.registry.host}/shop/web@${world.index.digest}`,
    );
    await deploy.getByRole('button', { name: 'Copy reference' }).click();
    await expect(page.evaluate<string>('navigator.clipboard.readText()')).resolves.toBe(
      `local/shop/web@${world.index.digest}`,
    );
    // Every digest shown short in the tree carries the full one behind its copy button.
    const copies = await page
      .locator('#tree .digest-copy button.copy')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-copy')));
    expect(copies).toContain(world.amd64.digest);
  });

  it('shows the referrers tree once, in plain words, and expands only what has something below', async () => {
    const top = page.locator('#tree .tree-level[data-depth="1"] > li');
    await expect(top.count()).resolves.toBe(6);
    const chips = await page
      .locator('#tree .tree-level[data-depth="1"] > li > .tree-row > .chip')
      .allInnerTexts();
    expect(chips.sort()).toEqual(['Attestation', 'Image', 'Image', 'SBOM', 'Signature', 'Signature']);
    // Signatures in the tree carry their outcome on the row; the signature cards are not repeated.
    const sigItems = page.locator('#tree li.kind-signature');
    await expect(sigItems.locator('.badge-verified').count()).resolves.toBe(1);
    await expect(sigItems.locator('.badge-failed').count()).resolves.toBe(1);
    await expect(page.locator('#tree .sig-facts').count()).resolves.toBe(0);
    // Words a user understands; the OCI ones are explained in a glossary and in tooltips.
    const edges = await page.locator('#tree .edge').allInnerTexts();
    expect(edges.length).toBeGreaterThan(0);
    for (const e of edges) expect(e).not.toMatch(/subject|tag-schema|referrers tag|cosign tag|index child/i);
    expect(edges).toContain('platform of this image');
    await expect(page.locator('#tree .glossary dt').allTextContents()).resolves.toEqual(
      expect.arrayContaining(['digest', 'referrer', 'index', 'attestation', 'SBOM', 'signature']),
    );
    await expect(page.locator('#tree .chip-signature').first().getAttribute('title')).resolves.toMatch(
      /vouched for exactly this digest/,
    );
    await expect(
      page.locator('.artifact-head .term[data-term="digest"]').getAttribute('title'),
    ).resolves.toMatch(/content hash/);
    // Only the amd64 image has something below it (a scan report): every other row is a leaf.
    await expect(page.locator('#tree .tree-level[data-depth="1"] button.toggle').count()).resolves.toBe(1);
    await expect(page.locator('#tree .tree-level[data-depth="1"] .toggle-spacer').count()).resolves.toBe(5);

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
    await expect(nested.locator('button.toggle').count()).resolves.toBe(0);
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

  it('pages and filters the SBOM packages, and links each purl to the package search', async () => {
    const rows = page.locator('#sbom tbody tr');
    await eventually(async () => expect(await rows.count()).toBe(25));
    await expect(page.locator('#sbom .pager').innerText()).resolves.toContain('Packages 1–25 of 34');
    await page.locator('#sbom').getByRole('button', { name: 'Next →' }).click();
    await eventually(async () => expect(await rows.count()).toBe(9));
    await page.getByLabel('Filter packages by name or purl').fill('log4j');
    await eventually(async () =>
      expect(await rows.allInnerTexts()).toEqual([expect.stringContaining('log4j-core')]),
    );
    const purl = 'pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1';
    await expect(rows.first().innerText()).resolves.toContain(purl);
    await page.locator('#sbom').screenshot(SHOTS ? { path: join(SHOTS, 'sbom.png') } : {});
    await expect(rows.first().getByRole('link', { name: purl }).getAttribute('href')).resolves.toBe(
      `#/search?q=${encodeURIComponent(purl)}`,
    );
    // The original document, byte for byte as pushed (read through the registry view).
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download the SBOM document' }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/^sbom-[0-9a-f]{12}\.spdx\.json$/);
    const doc = JSON.parse(await readFile(await download.path(), 'utf8')) as {
      name: string;
      packages: unknown[];
    };
    expect([doc.name, doc.packages.length]).toEqual(['shop-web', PACKAGES.length]);
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

  it('follows a purl link to the artifacts listing it, and searches by digest', async () => {
    await page
      .locator('#sbom')
      .getByRole('link', { name: /log4j-core@2\.14\.1/ })
      .click();
    await page.waitForURL('**/ui#/search?q=pkg*');
    const link = page
      .getByRole('link', { name: 'local/shop/web:latest' })
      .or(page.getByRole('link', { name: REFERENCE }));
    await link.first().waitFor();
    await page.getByLabel('Reference, digest, package URL or vulnerability').fill(world.amd64.digest);
    await page.keyboard.press('Enter');
    await page.waitForURL(`**/ui#/artifact/${world.amd64.digest}*`);
    const head = page.locator('.artifact-head');
    await expect(head.innerText()).resolves.toMatch(/listed by[\s\S]*local\/shop\/web/i);
    await expect(head.locator('.kind-words').innerText()).resolves.toBe('Container image');
    await eventually(async () =>
      expect(await head.locator('.size').innerText()).toContain(bytes(imageSize(world.amd64.manifest))),
    );
  });

  it('lists each finding of an image with its VEX status, and finds the images with a CVE', async () => {
    await page.goto(`${world.refgraph.url}/ui#/artifact/${world.vulnerable.digest}`);
    const finding = (id: string) => page.locator(`#vulnerabilities tr.finding[data-vulnerability="${id}"]`);
    // Ingest is asynchronous: reload until the report's findings are there.
    await eventually(async () => {
      await page.reload();
      await finding(VULNERABLE_CVE).waitFor({ timeout: 2000 });
    }, 60_000);
    // The VEX referrer is unsigned: listed as not counted, the finding still affected.
    await expect(finding(VULNERABLE_CVE).locator('.vex-status').innerText()).resolves.toBe(
      'Affected (no VEX)',
    );
    await expect(finding(VULNERABLE_CVE).innerText()).resolves.toContain(
      '1 unverified VEX statement not counted',
    );
    await page.getByLabel('Also count unsigned or unverified VEX').check();
    await eventually(async () =>
      expect(await finding(VULNERABLE_CVE).locator('.vex-status').innerText()).toBe('Not affected'),
    );
    await expect(finding(VULNERABLE_CVE).locator('.vex-statement').innerText()).resolves.toContain(
      'vulnerable code not in execute path',
    );
    await expect(finding(VULNERABLE_OTHER).locator('.vex-status').innerText()).resolves.toBe(
      'Affected (no VEX)',
    );
    // Across the fleet: the CVE as a search.
    await page.goto(`${world.refgraph.url}/ui#/search?q=${VULNERABLE_CVE}`);
    const row = page.locator('tr.vulnerable-artifact');
    await row.first().waitFor();
    await expect(row.innerText()).resolves.toMatch(
      /local\/shop\/api:v1[\s\S]*libcrypto3 3\.1\.3-r0[\s\S]*Affected/,
    );
  });

  it('shows activity across the width: compact digests with copy buttons and relative times', async () => {
    await page.goto(`${world.refgraph.url}/ui#/activity`);
    const regs = page.locator('section[aria-labelledby="reg-h"] table');
    await regs.waitFor();
    await expect(regs.innerText()).resolves.toMatch(/local[\s\S]*distribution/);
    await expect(regs.locator('time').count()).resolves.toBe(1);
    const recent = page.locator('section[aria-labelledby="recent-h"]');
    await recent.locator('tbody tr').first().waitFor();
    await shot('activity');
    const times = await recent.locator('time').allInnerTexts();
    expect(times.length).toBeGreaterThan(0);
    for (const t of times) expect(t).toMatch(/ago|now|second|minute/);
    await expect(recent.locator('.digest-copy').count()).resolves.toBeGreaterThan(0);
    // Nothing fails in this world: one line, not half the page.
    await expect(page.locator('section[aria-labelledby="fail-h"]').innerText()).resolves.toContain(
      'Nothing is failing.',
    );
    // Each row is one line tall at laptop width: digests and dates do not wrap.
    const tall = await recent
      .locator('tbody tr')
      .evaluateAll((rows) => rows.filter((r) => r.getBoundingClientRect().height > 48).length);
    expect(tall).toBe(0);
    const box = await recent.boundingBox();
    expect(box!.width).toBeGreaterThan(1000);
  });

  it('is readable on a phone', async () => {
    const phoneContext = await explorerContext(browser, world.refgraph.url, {
      token: ADMIN_TOKEN,
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
    });
    const phone = await phoneContext.newPage();
    await phone.goto(`${world.refgraph.url}/ui#/artifact/${world.index.digest}`);
    await phone.locator('#signatures .sig-verified').first().waitFor();
    await phone.locator('#deploy .verdict').first().waitFor();
    // Evaluated in the page (a string, as the test itself is typed for Node, not the DOM).
    const wide = await phone.evaluate<string[]>(`[...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest('.table-wrap'))
      .map((e) => e.tagName + '.' + e.className)`);
    expect(wide).toEqual([]);
    await shot('artifact-phone', phone, false);
    await phoneContext.close();
  });
});
