// Shared pieces of the browser checks: the Nu Html Checker (vnu), axe-core in headless
// Chromium, and the way both report problems. check-static.mjs and check-live.mjs use these,
// so a vnu error or an axe violation reads the same whichever check found it.
//
// What this is not: a test framework. Each check script decides what to open and what to
// assert; this module only runs the real tools and turns their answers into plain records.

import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);

/** The tags of the WCAG 2.1 A and AA rules, which is what BITV 2.0 asks of German public bodies. */
export const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

/** Debian's Chromium. We never download a browser of our own (see README.md). */
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

const VNU_JAR = path.join(path.dirname(require.resolve('vnu-jar/package.json')), 'build', 'dist', 'vnu.jar');

/** The source of axe-core, read once and injected into every page. */
export async function axeSource() {
  return readFile(require.resolve('axe-core/axe.min.js'), 'utf8');
}

/**
 * Starts headless Chromium with one browser context, in which axe-core is injected into every
 * document before the page's own scripts run. An init script is used instead of a script tag
 * so that a strict Content-Security-Policy on the server's pages cannot keep axe out.
 */
export async function launchBrowser({ viewport = { width: 1280, height: 900 }, locale = 'de-DE', origin = null } = {}) {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Keep Chromium's own background work (updates, crash reports, GPU) out of a 2-core machine.
    // File access from files lets axe read the stylesheets of a page opened from disk: it
    // fetches them to check CSS rules such as the orientation lock (WCAG 1.3.4).
    args: [
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--no-first-run',
      '--disable-extensions',
      '--allow-file-access-from-files',
    ],
  });
  const context = await browser.newContext({ viewport, locale, reducedMotion: 'reduce' });
  await context.addInitScript({ content: await axeSource() });
  // Nothing leaves this machine: CI has no network, and a check must not depend on one. Files
  // on disk and the server under test (`origin`) are reached; anything else, such as a
  // municipality's logo on its own web site, is refused and reported as external.
  await context.route(
    (url) => url.protocol !== 'file:' && url.protocol !== 'data:' && url.origin !== origin,
    (route) => route.abort('blockedbyclient'),
  );
  return { browser, context };
}

/**
 * Runs axe-core with the WCAG 2.1 A/AA rules on the page as it is now and returns its
 * violations as `{ rule, impact, help, helpUrl, nodes: [{ target, summary }] }`.
 */
export async function runAxe(page) {
  // page.evaluate has no time limit of its own; a page that keeps axe from finishing must
  // fail the check, not hang CI.
  let timer;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`axe did not finish within ${AXE_TIMEOUT_MS / 1000} s`)), AXE_TIMEOUT_MS);
  });
  try {
    return await Promise.race([axeViolations(page), limit]);
  } finally {
    clearTimeout(timer);
  }
}

const AXE_TIMEOUT_MS = 60_000;

function axeViolations(page) {
  return page.evaluate(async (tags) => {
    // eslint-disable-next-line no-undef
    const result = await axe.run(document, {
      runOnly: { type: 'tag', values: tags },
      resultTypes: ['violations'],
    });
    return result.violations.map((v) => ({
      rule: v.id,
      impact: v.impact,
      help: v.help,
      helpUrl: v.helpUrl,
      nodes: v.nodes.map((n) => ({ target: n.target.join(' '), summary: n.failureSummary })),
    }));
  }, AXE_TAGS);
}

/**
 * Runs the Nu Html Checker once over the given files and returns its errors as
 * `{ file, line, column, message, extract }`. Starting the JVM costs about a second, so the
 * checker always gets all files in one call. A file the checker cannot read comes back as an
 * error too ("non-document-error"), so a problem can never disappear silently.
 */
export async function runVnu(files) {
  if (files.length === 0) return [];
  const args = ['-jar', VNU_JAR, '--errors-only', '--format', 'json', '--exit-zero-always', ...files];
  const { code, stdout, stderr } = await run('java', args);
  // vnu writes its JSON report to stderr.
  let report;
  try {
    report = JSON.parse(stderr);
  } catch {
    throw new Error(`vnu did not produce a JSON report (exit ${code}):\n${stderr || stdout}`);
  }
  return report.messages
    .filter((m) => m.type === 'error' || m.type === 'non-document-error' || m.subType === 'fatal')
    .map((m) => ({
      file: m.url && m.url.startsWith('file:') ? fileURLToPath(m.url.replace(/^file:(?!\/\/)/, 'file://')) : m.url,
      line: m.lastLine ?? m.firstLine ?? 0,
      column: m.firstColumn ?? m.lastColumn ?? 0,
      message: m.message,
      extract: m.extract ? m.extract.replace(/\s+/g, ' ').trim() : '',
    }));
}

/** Runs a program and collects its output; rejects only if it cannot be started at all. */
export function run(command, args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Prints vnu errors, one line per error, in the `file:line:col` form editors can jump to. */
export function printVnuErrors(errors, relative = (f) => f) {
  for (const e of errors) {
    console.log(`vnu  ${relative(e.file)}:${e.line}:${e.column}: ${e.message}`);
    if (e.extract) console.log(`       ${e.extract.slice(0, 160)}`);
  }
}

/** Prints axe violations of one page: rule id, impact, the rule's help text and every target. */
export function printAxeViolations(page, violations) {
  for (const v of violations) {
    console.log(`axe  ${page}: ${v.rule} (${v.impact}) ${v.help}`);
    for (const n of v.nodes) console.log(`       at ${n.target}`);
    console.log(`       see ${v.helpUrl}`);
  }
}

/** The error text of a request that launchBrowser refused because it would leave the machine. */
export const BLOCKED = 'net::ERR_BLOCKED_BY_CLIENT';

/** The number of offending elements over a list of axe violations. */
export function axeNodeCount(violations) {
  return violations.reduce((sum, v) => sum + v.nodes.length, 0);
}
