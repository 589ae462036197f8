#!/usr/bin/env node
// Goes through the clerks' inbox (`/verwaltung/`) on a running server the way a clerk who uses
// only the keyboard would, and checks every page of the way with axe-core and the Nu Html
// Checker, once in German and once in English (`?lang=en`).
//
// Usage: node check-inbox.mjs BASE_URL [--user NAME] [--municipality ID] [--prefer PREFIX]
//                                      [--screenshots OUT] [--docs DIR]
// The password is read from the environment variable INBOX_PASSWORD, never from the command
// line. The account must exist (`baukasten user add`) and its municipality must have at least
// one submission in a state that allows a move (run.sh lets check-live's walks leave them).
//
// The walk, with the keyboard alone (Tab, Space, Enter, arrow keys, typing; nothing typed into
// an element that Tab did not reach), in a fresh browser per language:
//   1. open /verwaltung/eingang; expect to land on the sign-in page, in the asked language;
//   2. sign in with a wrong password; expect "Fehler: …" in the title and the error summary
//      holding the focus;
//   3. sign in properly; expect the list with its counts per state and at least one case;
//   4. search for a case's reference with the filter; expect exactly that case (the first
//      listed one that offers a state change; with --prefer, one whose reference starts so);
//   5. open it from the list; expect its detail page;
//   6. write a comment and press the first move button; expect the notice that says the new
//      state, and the comment in the history;
//   7. go back to the list and open the overview (the 30-day chart and the failed deliveries);
//   8. sign out; expect the sign-in page, and that the inbox asks for a sign-in again.
// Each page of steps 1 to 7 goes through axe (WCAG 2.1 A/AA) in the browser, and the HTML the
// server sent for it through vnu, all at once at the end; text in the colour of its background,
// which axe leaves undecided, fails too. Titles and headings are checked
// against CONVENTIONS below: adapt that block, not the walk, when the pages' texts change.

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { launchBrowser, runAxe, runVnu, printVnuErrors, printAxeViolations, axeNodeCount, BLOCKED } from './lib.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..');

/** What the inbox's pages say, per language. Change here when the texts change. */
const CONVENTIONS = {
  de: {
    signIn: 'Anmelden',
    inbox: 'Eingang',
    caseTitle: (reference) => `Vorgang ${reference}`,
    errorPrefix: 'Fehler:',
    search: 'Anzeigen',
    signOut: 'Abmelden',
    moved: /^Der Stand ist jetzt „(.+)“\.$/,
    comment: 'Geprüft im Browser-Check, Unterlagen vollständig.',
    backToList: 'Zurück zum Eingang',
    overviewLink: 'Übersicht: Eingänge der letzten 30 Tage und fehlgeschlagene Zustellungen',
    overview: 'Übersicht',
  },
  en: {
    signIn: 'Sign in',
    inbox: 'Inbox',
    caseTitle: (reference) => `Case ${reference}`,
    errorPrefix: 'Error:',
    search: 'Show',
    signOut: 'Sign out',
    moved: /^The status is now “(.+)”\.$/,
    comment: 'Checked in the browser check, documents complete.',
    backToList: 'Back to the inbox',
    overviewLink: 'Overview: cases of the last 30 days and failed deliveries',
    overview: 'Overview',
  },
  signInPath: '/verwaltung/anmelden',
  inboxPath: '/verwaltung/eingang',
  casePath: '/verwaltung/vorgang/',
  overviewPath: '/verwaltung/uebersicht',
  reference: /^[A-Z]{2,5}-\d{4}-[0-9A-Z]{5}$/,
  // How many Tab presses one page may take before we call it a keyboard trap.
  maxTabs: 200,
  // The size of the screenshots for the documentation: a desktop window, at most this tall.
  docs: { width: 1280, height: 900, maxHeight: 3000 },
};

const USAGE =
  'usage: INBOX_PASSWORD=… node check-inbox.mjs BASE_URL [--user NAME] [--municipality ID] [--prefer PREFIX] [--screenshots OUT] [--docs DIR]';

class WalkError extends Error {}

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      user: { type: 'string', default: 'erika' },
      municipality: { type: 'string', default: 'musterstadt' },
      prefer: { type: 'string', default: '' },
      screenshots: { type: 'string', default: path.join(REPO, 'target', 'screenshots', 'inbox') },
      docs: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help || positionals.length !== 1) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  const password = process.env.INBOX_PASSWORD;
  if (!password) {
    console.error('check-inbox: set INBOX_PASSWORD to the password of the account (see `baukasten user add`)');
    return 2;
  }
  const base = new URL(positionals[0]);
  const started = Date.now();
  const htmlDir = await mkdtemp(path.join(os.tmpdir(), 'baukasten-inbox-'));
  if (values.docs) await mkdir(values.docs, { recursive: true });

  const walks = [];
  const moved = new Set(); // references moved by an earlier language's walk
  for (const lang of ['de', 'en']) {
    const shotDir = path.join(values.screenshots, lang);
    await mkdir(shotDir, { recursive: true });
    // A German browser both times: English comes from `?lang=en` alone, as the link in the
    // header gives it.
    const { browser, context } = await launchBrowser({ origin: base.origin });
    const walk = new Walk(await context.newPage(), {
      lang,
      base,
      user: values.user,
      municipality: values.municipality,
      password,
      htmlDir,
      shotDir,
      docs: lang === 'de' ? values.docs : null,
      skip: moved,
      prefer: values.prefer,
    });
    try {
      await walk.run();
    } catch (error) {
      walk.failure = error;
    } finally {
      await browser.close();
    }
    if (walk.reference) moved.add(walk.reference);
    walks.push(walk);
  }

  const pages = walks.flatMap((w) => w.pages);
  const vnuErrors = await runVnu(pages.map((p) => p.file));
  await rm(htmlDir, { recursive: true, force: true });

  console.log('');
  for (const p of pages) console.log(`page ${p.name}: ${p.status} ${p.url} "${p.title}"`);
  printVnuErrors(vnuErrors, (f) => pages.find((p) => p.file === f)?.name ?? f);
  let violations = 0;
  let nodes = 0;
  for (const p of pages) {
    printAxeViolations(`${p.name} (${p.url})`, p.axe);
    violations += p.axe.length;
    nodes += axeNodeCount(p.axe);
  }
  let walkFailures = 0;
  for (const w of walks) {
    for (const problem of w.problems) console.log(`inbox ${w.lang}: ${problem}`);
    if (w.failure) {
      console.log(`walk ${w.lang} stopped: ${w.failure instanceof WalkError ? w.failure.message : w.failure.stack}`);
    }
    walkFailures += w.problems.length + (w.failure ? 1 : 0);
  }
  const failedPages = new Set(vnuErrors.map((e) => e.file));
  for (const p of pages) if (p.axe.length > 0) failedPages.add(p.file);

  console.log('');
  console.log(`pages checked: ${pages.length}`);
  console.log(`cases moved: ${walks.map((w) => (w.reference ? `${w.reference} (${w.lang})` : `none (${w.lang})`)).join(', ')}`);
  console.log(`vnu errors: ${vnuErrors.length}`);
  console.log(`axe violations: ${violations} (${nodes} elements)`);
  console.log(`walk problems: ${walkFailures}`);
  if (values.docs) console.log(`docs screenshots: ${walks[0].docShots.join(', ') || 'none'}`);
  console.log(`time: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  console.log(`inbox: ${pages.length - failedPages.size} passed, ${failedPages.size + walkFailures} failed`);
  return failedPages.size + walkFailures === 0 && pages.length > 0 ? 0 : 1;
}

/** One keyboard-only walk through the inbox in one language, with everything it saw. */
class Walk {
  constructor(page, options) {
    Object.assign(this, options);
    this.page = page;
    this.text = CONVENTIONS[options.lang];
    this.pages = []; // { name, status, url, title, file, axe }
    this.problems = []; // what was wrong without stopping the walk
    this.failure = null;
    this.reference = null; // the case whose state the walk changed
    this.docShots = [];
    this.lastDocument = null;
    page.on('pageerror', (error) => this.problems.push(`script error on ${page.url()}: ${error.message}`));
    page.on('requestfailed', (request) => {
      const error = request.failure()?.errorText ?? '';
      if (!error.startsWith(BLOCKED)) this.problems.push(`${request.url()} did not load on ${page.url()}: ${error}`);
    });
    // The HTML exactly as the server sent it, for vnu (the browser's DOM would hide parse
    // errors), and its status; a redirect (303 after a POST) carries no page.
    page.on('response', (response) => {
      const request = response.request();
      if (request.isNavigationRequest() && request.frame() === page.mainFrame() && !(response.status() >= 300 && response.status() < 400)) {
        this.lastStatus = response.status();
        this.lastDocument = response.text().catch(() => '');
      }
    });
  }

  async run() {
    const { page, text } = this;
    const query = this.lang === 'en' ? '?lang=en' : '';

    // 1. The inbox asks for a sign-in.
    await page.goto(new URL(CONVENTIONS.inboxPath + query, this.base).href, { waitUntil: 'load' });
    this.expectPath(CONVENTIONS.signInPath, 'opening the inbox without a session');
    await this.record('sign-in', { title: text.signIn, h1: text.signIn, status: 200 });
    const lang = await page.evaluate(() => document.documentElement.lang);
    if (lang !== this.lang) this.problems.push(`the sign-in page reached from ${CONVENTIONS.inboxPath}${query} is in "${lang}", not "${this.lang}"`);

    // 2. A wrong password: the error state, with the focus in the error summary.
    await this.fillSignIn(`${this.password}-falsch`);
    await this.tabTo((el) => el.tag === 'button' && el.label === text.signIn, `the "${text.signIn}" button`);
    await this.pressAndWait('Enter');
    this.expectPath(CONVENTIONS.signInPath, 'a sign-in with a wrong password');
    await this.record('sign-in-wrong', { title: `${text.errorPrefix} ${text.signIn}`, h1: text.signIn, status: 401 });
    const inSummary = await page.evaluate(() => {
      const alert = document.querySelector('[role=alert]');
      return alert !== null && alert.contains(document.activeElement);
    });
    if (!inSummary) this.problems.push(`after a wrong password the focus is on ${describe(await this.focused())}, not in the error summary`);

    // 3. Signed in: the list.
    await this.fillSignIn(this.password);
    await this.tabTo((el) => el.tag === 'button' && el.label === text.signIn, `the "${text.signIn}" button`);
    await this.pressAndWait('Enter');
    if (new URL(page.url()).pathname === CONVENTIONS.signInPath) {
      throw new WalkError(
        `signing in as ${this.municipality}/${this.user} was refused: "${await this.alertText()}" (is the account there? \`baukasten user add\`, INBOX_PASSWORD)`,
      );
    }
    this.expectPath(CONVENTIONS.inboxPath, 'signing in');
    await this.record('list', { title: text.inbox, h1: text.inbox, status: 200 }, 'inbox-list.png');
    const counts = await page.locator('main table:not(.table-scroll table) tbody tr').count();
    if (counts === 0) this.problems.push('the list shows no counts per state');
    const references = await this.listedReferences();
    const reference = await this.caseToWorkOn(references);
    if (!reference) {
      throw new WalkError(
        `the list of ${this.municipality} shows no case to work on (${references.length} listed, none that offers a state change): walk a service first (check-live.mjs)`,
      );
    }

    // 4. The search filter, by reference.
    await this.tabTo((el) => el.tag === 'input' && el.name === 'q', 'the search field (name="q")');
    await this.type(reference);
    await this.tabTo((el) => el.tag === 'button' && el.label === text.search, `the "${text.search}" button of the filters`);
    await this.pressAndWait('Enter');
    this.expectPath(CONVENTIONS.inboxPath, 'the search');
    await this.record('list-filtered', { title: text.inbox, h1: text.inbox, status: 200 });
    const found = await this.listedReferences();
    if (found.length !== 1 || found[0] !== reference) {
      this.problems.push(`searching for ${reference} listed ${found.length === 0 ? 'nothing' : found.join(', ')}, not just that case`);
    }
    const searched = await page.locator('input[name=q]').inputValue();
    if (searched !== reference) this.problems.push(`after the search the search field holds "${searched}", not "${reference}"`);

    // 5. The case, opened from the list.
    await this.tabTo((el) => el.tag === 'a' && el.label === reference, `the link to ${reference} in the list`);
    await this.pressAndWait('Enter');
    this.expectPath(CONVENTIONS.casePath + reference, `opening ${reference}`);
    await this.record('detail', { title: text.caseTitle(reference), h1: text.caseTitle(reference), status: 200 });

    // 6. A state change with a comment: the first move the process allows.
    const hasMoves = await page.locator('button[name=to]').count();
    if (hasMoves === 0) throw new WalkError(`${reference} offers no state change (no button name="to"); the walk needs a case that does`);
    await this.tabTo((el) => el.tag === 'textarea' && el.name === 'comment', 'the comment field (name="comment")');
    await this.type(text.comment);
    const move = await this.tabTo((el) => el.tag === 'button' && el.name === 'to', 'the first move button (name="to")');
    await this.pressAndWait('Enter');
    this.reference = reference;
    this.expectPath(CONVENTIONS.casePath + reference, `the move "${move.label}"`);
    await this.record('detail-moved', { title: text.caseTitle(reference), h1: text.caseTitle(reference), status: 200 }, 'inbox-detail.png');
    const notice = (await page.locator('[role=status]').allInnerTexts()).map((t) => t.trim());
    const said = notice.map((t) => text.moved.exec(t)).find(Boolean);
    if (!said) this.problems.push(`after the move "${move.label}" there is no notice of the new state (role=status), only: ${JSON.stringify(notice)}`);
    const history = await page.locator('main table').allInnerTexts();
    if (!history.some((t) => t.includes(text.comment))) this.problems.push(`the comment "${text.comment}" is not in the history after the move`);

    // 7. Back to the list, and on to the overview: its chart and its table of numbers.
    await this.tabTo((el) => el.tag === 'a' && el.label === text.backToList, `the link "${text.backToList}"`);
    await this.pressAndWait('Enter');
    this.expectPath(CONVENTIONS.inboxPath, 'going back to the list');
    await this.tabTo((el) => el.tag === 'a' && el.label === text.overviewLink, `the link "${text.overviewLink}"`);
    await this.pressAndWait('Enter');
    this.expectPath(CONVENTIONS.overviewPath, 'opening the overview');
    await this.record('overview', { title: text.overview, h1: text.overview, status: 200 });
    const chart = await page.locator('svg[role=img] title').count();
    if (chart !== 1) this.problems.push(`the overview has ${chart} chart titles (svg role=img with a title), not 1`);

    // 8. Signing out ends the session.
    await this.tabTo((el) => el.tag === 'button' && el.label === text.signOut, `the "${text.signOut}" button in the header`);
    await this.pressAndWait('Enter');
    this.expectPath(CONVENTIONS.signInPath, 'signing out');
    await page.goto(new URL(CONVENTIONS.inboxPath, this.base).href, { waitUntil: 'load' });
    this.expectPath(CONVENTIONS.signInPath, 'opening the inbox after signing out');
  }

  /** Tabs once round the sign-in form: the municipality, the name and the given password. */
  async fillSignIn(password) {
    const seen = new Set();
    for (let i = 0; i < CONVENTIONS.maxTabs; i++) {
      await this.page.keyboard.press('Tab');
      const el = await this.focused();
      if (seen.has(el.key)) return;
      seen.add(el.key);
      if (el.tag === 'select' && el.name === 'municipality') await this.choose(el, this.municipality);
      else if (el.tag === 'input' && el.name === 'name') await this.type(this.user);
      else if (el.tag === 'input' && el.name === 'password') await this.type(password);
    }
    throw new WalkError(`${CONVENTIONS.maxTabs} Tab presses did not go round ${this.page.url()}: a keyboard trap?`);
  }

  /** Chooses an option of the focused select with the arrow keys. */
  async choose(el, value) {
    if (!el.options.includes(value)) throw new WalkError(`the select "${el.label}" offers no ${value} (only ${el.options.join(', ')})`);
    const key = el.options.indexOf(value) > el.options.indexOf(el.value) ? 'ArrowDown' : 'ArrowUp';
    for (let i = 0; i < el.options.length && (await this.focused()).value !== value; i++) await this.page.keyboard.press(key);
    if ((await this.focused()).value !== value) throw new WalkError(`the arrow keys did not choose ${value} in "${el.label}"`);
  }

  /** Replaces the focused field's text by typing. */
  async type(value) {
    const { keyboard } = this.page;
    await keyboard.press('ControlOrMeta+A');
    await keyboard.press('Delete');
    await keyboard.type(value);
  }

  /**
   * Runs axe on the current page, keeps the HTML the server sent, takes a screenshot, and
   * checks the status, the title (before the site's name) and the one h1 against `expected`.
   */
  async record(name, expected, docName = null) {
    const { page } = this;
    const index = String(this.pages.length + 1).padStart(2, '0');
    const file = path.join(this.htmlDir, `${this.lang}-${index}-${name}.html`);
    await writeFile(file, (await this.lastDocument) ?? '');
    await page.screenshot({ path: path.join(this.shotDir, `${index}-${name}.png`), fullPage: true });
    if (this.docs && docName) await this.docShot(docName);
    const title = await page.title();
    const h1 = (await page.locator('h1').allInnerTexts()).map((t) => t.trim());
    const entry = { name: `${this.lang}-${index}-${name}`, status: this.lastStatus, url: page.url(), title, file, axe: await runAxe(page) };
    this.pages.push(entry);
    if (title !== expected.title && !title.startsWith(`${expected.title} – `)) {
      this.problems.push(`${entry.name}: the title is "${title}", not "${expected.title} – …"`);
    }
    if (h1.length !== 1 || h1[0] !== expected.h1) {
      this.problems.push(`${entry.name}: the h1 is ${h1.length === 0 ? 'missing' : h1.map((h) => `"${h}"`).join(', ')}, not "${expected.h1}"`);
    }
    if (entry.status !== expected.status) this.problems.push(`${entry.name}: the server answered ${entry.status}, not ${expected.status}`);
    for (const target of await invisibleText(page)) {
      this.problems.push(`${entry.name}: the text of ${target} has the colour of its background (contrast 1:1)`);
    }
  }

  /** A screenshot for the documentation: a desktop window, the page's content to a readable length. */
  async docShot(name) {
    const { page } = this;
    const { width, height, maxHeight } = CONVENTIONS.docs;
    const before = page.viewportSize();
    await page.setViewportSize({ width, height });
    // Down to the end of the page's content: the footer is the same on every page.
    const bottom = await page.evaluate(() => Math.ceil(document.querySelector('main').getBoundingClientRect().bottom + window.scrollY));
    const out = path.join(this.docs, name);
    await page.screenshot({ path: out, fullPage: true, clip: { x: 0, y: 0, width, height: Math.min(bottom, maxHeight) } });
    await page.setViewportSize(before);
    this.docShots.push(out);
  }

  /**
   * The first listed case that offers a state change: one whose reference starts with
   * --prefer (a service whose page fits a screenshot) and that an earlier language's walk did
   * not move, else any such fresh case, else a moved one, so that each walk starts from a fresh
   * case and a second run against the same server still finds work. The cases are looked at
   * with plain requests in the same session; the walk opens the chosen one from the list with
   * the keyboard.
   */
  async caseToWorkOn(references) {
    const fresh = references.filter((r) => !this.skip.has(r));
    const preferred = this.prefer ? fresh.filter((r) => r.startsWith(this.prefer)) : [];
    const order = [...preferred, ...fresh, ...references.filter((r) => this.skip.has(r))];
    for (const reference of new Set(order)) {
      const response = await this.page.request.get(new URL(CONVENTIONS.casePath + reference, this.base).href);
      if (response.ok() && /<button[^>]* name="to"/.test(await response.text())) return reference;
    }
    return null;
  }

  /** The references the list shows, in its order. */
  async listedReferences() {
    const links = await this.page.locator(`main a[href^="${CONVENTIONS.casePath}"]`).allInnerTexts();
    return links.map((t) => t.trim()).filter((t) => CONVENTIONS.reference.test(t));
  }

  async alertText() {
    const texts = await this.page.locator('[role=alert]').allInnerTexts();
    return texts.join(' ').replace(/\s+/g, ' ').trim() || '(no error summary)';
  }

  /** A walk step that should have led to `pathname` and did not stops the walk. */
  expectPath(pathname, after) {
    const now = new URL(this.page.url()).pathname;
    if (now !== pathname) throw new WalkError(`after ${after} the browser is on ${this.page.url()}, not ${pathname}`);
  }

  /** Presses Tab until `want` holds for the focused element, and returns it. */
  async tabTo(want, what) {
    for (let i = 0; i < CONVENTIONS.maxTabs; i++) {
      await this.page.keyboard.press('Tab');
      const el = await this.focused();
      if (want(el)) return el;
    }
    throw new WalkError(`Tab never reached ${what} on ${this.page.url()}`);
  }

  /** Presses a key and waits for the page it leads to. */
  async pressAndWait(key) {
    await Promise.all([this.page.waitForNavigation({ waitUntil: 'load' }), this.page.keyboard.press(key)]);
  }

  /** What has the keyboard focus: enough to recognise and fill it, and a stable key. */
  focused() {
    return this.page.evaluate(() => {
      const el = document.activeElement ?? document.body;
      const tag = el.tagName.toLowerCase();
      const name = el.getAttribute('name') ?? '';
      const label = (el.labels && el.labels.length > 0 ? el.labels[0].textContent : el.textContent).replace(/\s+/g, ' ').trim();
      return {
        tag,
        name,
        id: el.id,
        value: 'value' in el ? String(el.value) : '',
        label,
        options: tag === 'select' ? [...el.options].map((o) => o.value) : [],
        key: `${tag}|${name}|${el.id}|${el.getAttribute('value') ?? ''}|${el.getAttribute('href') ?? ''}|${label.slice(0, 40)}`,
      };
    });
  }
}

/**
 * Text in the colour of its own background. axe counts a contrast of 1:1 as "incomplete", not
 * as a violation (the text might be hidden on purpose), so the WCAG run lets it pass; nothing on
 * these pages is hidden that way. (The sign-out button was once invisible on the header.)
 */
function invisibleText(page) {
  return page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const result = await axe.run(document, {
      runOnly: { type: 'rule', values: ['color-contrast'] },
      resultTypes: ['incomplete'],
    });
    return result.incomplete
      .flatMap((v) => v.nodes)
      .filter((n) => [...n.any, ...n.all, ...n.none].some((c) => /\b1:1\b/.test(c.message ?? '')))
      .map((n) => n.target.join(' '));
  });
}

function describe(el) {
  if (el.tag === 'body') return 'the page itself (nothing focused)';
  return `<${el.tag}${el.name ? ` name="${el.name}"` : ''}${el.id ? ` id="${el.id}"` : ''}> "${el.label.slice(0, 60)}"`;
}

// A last guard for CI: whatever hangs (a page, the browser, the JVM), the check ends.
setTimeout(() => {
  console.error('check-inbox: gave up after 5 minutes');
  process.exit(2);
}, 5 * 60_000).unref();

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`check-inbox: ${error.stack || error}`);
    process.exit(2);
  },
);
