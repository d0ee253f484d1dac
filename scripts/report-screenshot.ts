/**
 * Opens a turnwise HTML report in headless Chromium (Debian's `chromium`, driven by playwright-core),
 * waits until the charts are drawn, checks that six panels rendered a canvas, and saves a PNG.
 *
 *   npx tsx scripts/report-screenshot.ts REPORT.html [OUT.png]
 *   npx tsx scripts/report-screenshot.ts --synthetic OUT.png    (writes synthetic runs first)
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { writeSyntheticRun } from '../src/report/synthetic-runs.js';
import { writeReport, PAPER_RESULTS } from '../src/report/write-report.js';

/** Screenshots `htmlPath` to `pngPath`; returns the number of panels that drew a chart. */
export async function screenshotReport(
  htmlPath: string,
  pngPath: string,
): Promise<{ canvases: number; panels: number }> {
  const userDataDir = mkdtempSync(join(tmpdir(), 'turnwise-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1400, height: 1000 },
  });
  try {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(pathToFileURL(resolve(htmlPath)).href);
    await page.waitForSelector('body[data-rendered="true"]', { timeout: 15_000 });
    const canvases = await page.locator('.panel canvas').count();
    const panels = await page.locator('.panel').count();
    await page.screenshot({ path: pngPath, fullPage: true });
    if (errors.length > 0) throw new Error(`the report raised errors in the browser: ${errors.join('; ')}`);
    return { canvases, panels };
  } finally {
    await context.close();
  }
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'));
if (invokedDirectly) {
  const args = process.argv.slice(2);
  let html = args[0];
  let png = args[1];
  if (html === '--synthetic' || html === undefined) {
    const root = mkdtempSync(join(tmpdir(), 'turnwise-synthetic-'));
    for (const method of ['mt-grpo', 'grpo-mr', 'grpo-or'])
      for (const seed of [0, 1, 2]) writeSyntheticRun(join(root, `${method}-seed${seed}`), method, seed, 60);
    html = writeReport([root], join(root, 'report.html'), {
      title: 'turnwise report (synthetic runs)',
      referenceRows: PAPER_RESULTS,
    });
    png = png ?? 'report-synthetic.png';
  }
  png = png ?? `${html.replace(/\.html$/, '')}.png`;
  const { canvases, panels } = await screenshotReport(html, png);
  console.log(`${html}: ${panels} panels, ${canvases} charts drawn; screenshot ${png}`);
  if (canvases < 6) process.exitCode = 1;
}
