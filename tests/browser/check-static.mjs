#!/usr/bin/env node
// Checks a folder of rendered pages (the output of `baukasten render --out DIR`) with the
// real tools a public body's auditor would use:
//
//   1. the Nu Html Checker (vnu) over every .html file, once, for valid HTML;
//   2. axe-core in headless Chromium on every page opened from disk, with the WCAG 2.1 A and
//      AA rules (BITV 2.0); a stylesheet or script the page links to but that is missing, a
//      script error, and a link to a missing page or to a missing id on a page count as
//      failures too, because the citizen would meet a broken page;
//   3. screenshots of a few chosen pages at 375 px and 1280 px, for people to look at.
//
// Usage: node check-static.mjs DIR [--screenshots OUT] [--shot REL ...] [--jobs N]
//
// It prints every problem with its page and place, then a summary, and exits 1 if there was
// any problem (or no page at all), 2 if the tools themselves could not run.

import { readdir, mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  launchBrowser,
  runAxe,
  runVnu,
  printVnuErrors,
  printAxeViolations,
  axeNodeCount,
  BLOCKED,
} from './lib.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..');

/** The kinds of request a page makes for itself, whose failure a citizen would see. */
const SUBRESOURCES = new Set(['stylesheet', 'script', 'image', 'font', 'media']);

/** Addresses off this machine that pages asked for; not loaded, listed once at the end. */
const external = new Set();

const USAGE = 'usage: node check-static.mjs DIR [--screenshots OUT] [--shot RELATIVE_PATH ...] [--jobs N]';

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      screenshots: { type: 'string', default: path.join(REPO, 'target', 'screenshots') },
      shot: { type: 'string', multiple: true, default: [] },
      jobs: { type: 'string', default: '2' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help || positionals.length !== 1) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  const root = path.resolve(positionals[0]);
  if (!(await stat(root).catch(() => null))?.isDirectory()) {
    console.error(`check-static: ${root} is not a folder`);
    return 2;
  }
  const jobs = Math.max(1, Number.parseInt(values.jobs, 10) || 1);
  const started = Date.now();

  const files = await htmlFiles(root);
  if (files.length === 0) {
    console.log(`check-static: no .html file under ${root}; a render that produced nothing is a failure`);
    return 1;
  }
  const rel = (f) => path.relative(root, f);
  console.log(`check-static: ${files.length} pages under ${root}`);

  // vnu runs in its own JVM while Chromium works through the pages; on two cores the two
  // overlap well, because each of them waits on the other's disk and start-up half the time.
  const vnuDone = runVnu(files);

  const { browser, context } = await launchBrowser();
  const pageProblems = new Map(); // file -> { axe: [...], load: [...] }
  try {
    const queue = [...files];
    const workers = Array.from({ length: Math.min(jobs, files.length) }, async () => {
      const page = await context.newPage();
      while (queue.length > 0) {
        const file = queue.shift();
        pageProblems.set(file, await checkPage(page, file));
      }
      await page.close();
    });
    await Promise.all(workers);

    const shots = await chooseScreenshots(files, root, values.shot);
    if (shots.length > 0) {
      await mkdir(values.screenshots, { recursive: true });
      const page = await context.newPage();
      for (const file of shots) {
        for (const width of [375, 1280]) {
          await page.setViewportSize({ width, height: 800 });
          await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
          const out = path.join(values.screenshots, `${rel(file).replace(/[\\/]/g, '__').replace(/\.html$/, '')}-${width}.png`);
          await page.screenshot({ path: out, fullPage: true });
        }
      }
      await page.close();
      console.log(`screenshots: ${shots.map(rel).join(', ')} at 375 and 1280 px in ${values.screenshots}`);
    } else {
      console.log('screenshots: no step, error or summary page found to photograph');
    }
  } finally {
    await browser.close();
  }

  const vnuErrors = await vnuDone;
  await checkLinks(pageProblems);
  flagErrorPages(pageProblems);

  // Report: vnu first (the markup), then axe and loading problems per page, in file order.
  printVnuErrors(vnuErrors, rel);
  let axeViolations = 0;
  let axeNodes = 0;
  let loadProblems = 0;
  let deadLinks = 0;
  for (const file of files) {
    const { axe, load, dead } = pageProblems.get(file);
    printAxeViolations(rel(file), axe);
    for (const p of load) console.log(`load ${rel(file)}: ${p}`);
    for (const p of dead) console.log(`link ${rel(file)}: dead link to ${p}`);
    axeViolations += axe.length;
    axeNodes += axeNodeCount(axe);
    loadProblems += load.length;
    deadLinks += dead.length;
  }
  const failedPages = new Set(vnuErrors.map((e) => e.file));
  for (const [file, { axe, load, dead }] of pageProblems) if (axe.length + load.length + dead.length > 0) failedPages.add(file);

  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  for (const url of [...external].sort()) console.log(`note: not loaded, off this machine: ${url}`);
  console.log('');
  console.log(`pages checked: ${files.length}`);
  console.log(`vnu errors: ${vnuErrors.length}`);
  console.log(`axe violations: ${axeViolations} (${axeNodes} elements)`);
  console.log(`load problems: ${loadProblems}`);
  console.log(`dead links: ${deadLinks}`);
  console.log(`time: ${seconds} s`);
  // The plain closing line CI reads: one entry per page, passed when vnu and axe found nothing.
  console.log(`pages: ${files.length - failedPages.size} passed, ${failedPages.size} failed`);
  return failedPages.size === 0 ? 0 : 1;
}

/**
 * Follows every link between the pages on disk: the file must exist and, if the link names a
 * fragment, the page must have an element with that id. This is how the error summary's links
 * reach their fields and the summary's "Ändern" links reach their answers, so a dead one is a
 * citizen who cannot get to the field they must correct. Problems go to the page's `dead` list.
 */
async function checkLinks(pageProblems) {
  const exists = new Map();
  for (const [file, problems] of pageProblems) {
    for (const href of new Set(problems.links ?? [])) {
      const url = new URL(href);
      if (url.protocol !== 'file:') continue;
      const target = fileURLToPath(url);
      if (!exists.has(target)) exists.set(target, await stat(target).then((s) => s.isFile(), () => false));
      const shown = `${path.relative(path.dirname(file), target) || path.basename(target)}${url.hash}`;
      if (!exists.get(target)) {
        problems.dead.push(`${shown}: no such file`);
        continue;
      }
      if (!url.hash || url.hash === '#') continue;
      const ids = pageProblems.get(target)?.ids;
      if (ids && !ids.has(decodeURIComponent(url.hash.slice(1)))) {
        problems.dead.push(`${shown}: no element with id "${decodeURIComponent(url.hash.slice(1))}" there`);
      }
    }
  }
}

/**
 * A page that should show a form but shows the site's error message ("Leider ist ein Fehler
 * aufgetreten") is valid and accessible, and yet useless: the renderer fell back because the
 * real page failed. It is recognised by having the main heading of an `error.html` of the site.
 */
function flagErrorPages(pageProblems) {
  const errorHeadings = new Set();
  for (const [file, { heading }] of pageProblems) if (path.basename(file) === 'error.html' && heading) errorHeadings.add(heading);
  for (const [file, problems] of pageProblems) {
    if (path.basename(file) !== 'error.html' && errorHeadings.has(problems.heading)) {
      problems.load.push(`shows the error message ("${problems.heading}") instead of its content`);
    }
  }
}

/** Every .html file under `dir`, sorted, so that reports are stable from run to run. */
async function htmlFiles(dir) {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.html'))
    .map((e) => path.join(e.parentPath ?? e.path, e.name))
    .sort();
}

/**
 * Opens one page from disk and runs axe on it. Also collects what would break the page for a
 * citizen without being an HTML or WCAG error: a linked file that is missing, a script error.
 */
async function checkPage(page, file) {
  const load = [];
  // Only what the page itself links to counts; axe's own requests are its business.
  const onFailed = (request) => {
    if (request.failure()?.errorText?.startsWith(BLOCKED)) {
      external.add(request.url());
    } else if (SUBRESOURCES.has(request.resourceType())) {
      load.push(`could not load ${request.url()} (${request.failure()?.errorText})`);
    }
  };
  const onError = (error) => load.push(`script error: ${error.message}`);
  page.on('requestfailed', onFailed);
  page.on('pageerror', onError);
  try {
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    const axe = await runAxe(page);
    const { ids, links, heading } = await page.evaluate(() => ({
      heading: document.querySelector('h1')?.textContent.trim() ?? '',
      ids: [...document.querySelectorAll('[id]')].map((e) => e.id),
      // Links, and the forms that navigate between the static pages (method="get").
      links: [
        ...[...document.querySelectorAll('a[href]')].map((a) => a.href),
        ...[...document.querySelectorAll('form[action]')].map((f) => f.action),
      ],
    }));
    return { axe, load, ids: new Set(ids), links, heading, dead: [] };
  } catch (error) {
    load.push(`could not be checked: ${error.message.split('\n')[0]}`);
    return { axe: [], load, ids: new Set(), links: [], heading: '', dead: [] };
  } finally {
    page.off('requestfailed', onFailed);
    page.off('pageerror', onError);
  }
}

/**
 * The pages to photograph. Given `--shot` paths (relative to DIR) win; otherwise the first
 * step page that has an error variant, that variant, and the summary next to it: together
 * they show the form, the error state and the review page of one service.
 */
async function chooseScreenshots(files, root, wanted) {
  if (wanted.length > 0) {
    return wanted.map((w) => path.resolve(root, w)).filter((f) => files.includes(f));
  }
  const inGerman = files.filter((f) => !path.relative(root, f).split(path.sep).includes('en'));
  const errorPage = inGerman.find((f) => /^step-.+-errors\.html$/.test(path.basename(f)));
  if (!errorPage) return [];
  const stepPage = errorPage.replace(/-errors\.html$/, '.html');
  const summary = path.join(path.dirname(errorPage), 'summary.html');
  return [stepPage, errorPage, summary].filter((f) => files.includes(f));
}

// A last guard for CI: whatever hangs (a page, the browser, the JVM), the check ends.
setTimeout(() => {
  console.error('check-static: gave up after 20 minutes');
  process.exit(2);
}, 20 * 60_000).unref();

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`check-static: ${error.stack || error}`);
    process.exit(2);
  },
);
