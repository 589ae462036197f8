#!/usr/bin/env node
// Goes through one service on a running server the way a citizen who uses only the keyboard
// would, and checks every page of the way with axe-core and the Nu Html Checker.
//
// Usage: node check-live.mjs BASE_URL [--service /TENANT/SERVICE/] [--answers FILE.json]
//                                      [--screenshots OUT]
//
// The walk, with the keyboard alone (Tab, Shift+Tab, Space, Enter, arrow keys, typing; no
// mouse, and no value put into an element that was not reached by Tab):
//   1. open the service's start page and Tab to the start link or button, press Enter;
//   2. on the first step, Tab to "Weiter" (`_action=continue`) and submit it empty; expect a
//      page titled "Fehler: …" with an error summary (role=alert, or the heading "Es gibt ein
//      Problem") that holds the keyboard focus, and whose first link leads to its field;
//   3. on every step, Tab through all controls and answer each (see ANSWERS below), check
//      that Shift+Tab and Tab move around "Weiter" and back, press Enter on it;
//   4. on the summary, tick the declaration the same way and send;
//   5. on the confirmation, expect a reference such as `BPA-2026-7K3Q9`.
// JavaScript is on, so the optional script (`reveal.js`) asks the server live which fields to
// show while the walk answers. After each step's answers the walk waits for those answers and
// checks that none hid a field it had answered (the script once evaluated a page without the
// draft's earlier answers and hid every question that depends on them), and at the end that
// the script did ask. File inputs get a small PDF or PNG through the file chooser, opened with
// the Space key. On the first step with a repeat, the walk adds an item with the keyboard and
// expects the focus on the new item's first field, then removes it and expects the focus on the
// message that says so.
// Every page of the way (start, error state, steps, summary, confirmation) goes through axe
// (WCAG 2.1 A/AA), and the HTML the server sent for it goes through vnu, all at once at the end.
//
// The server's exact markup is not fixed yet: this follows the conventions of DESIGN.md and
// docs/reference on accessibility. What to adapt when it differs is gathered in CONVENTIONS
// and ANSWERS right below.

import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { launchBrowser, runAxe, runVnu, printVnuErrors, printAxeViolations, axeNodeCount, BLOCKED } from './lib.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..');

/** What the pages are expected to look like. Change here when the server's markup differs. */
const CONVENTIONS = {
  // The service walked through when --service is not given: short, no file upload.
  service: '/musterstadt/maengelmelder/',
  // The control on the start page that begins the form (a link or a button).
  start: /^(antrag |jetzt |formular )?(starten|beginnen|start( now)?)$|^weiter$/i,
  // The button that submits a step: <button name="_action" value="continue">.
  isContinue: (el) => el.tag === 'button' && el.name === '_action' && el.value === 'continue',
  // The button that sends the whole application from the summary page.
  isSend: (el) =>
    el.tag === 'button' &&
    ((el.name === '_action' && /^(submit|send)$/.test(el.value)) || /^(absenden|senden|antrag (ab)?senden|send)/i.test(el.label)),
  errorTitle: /^Fehler:/,
  errorHeading: 'Es gibt ein Problem',
  summaryHeading: /prüfen sie ihre angaben|check your answers/i,
  reference: /\b[A-Z]{2,5}-\d{4}-[0-9A-Z]{5}\b/,
  // How many pages a walk may take before we call it a loop.
  maxPages: 40,
  // How many Tab presses one page may take before we call it a keyboard trap.
  maxTabs: 400,
};

/**
 * Answers for the fields, tried in this order: by field name, by autocomplete token, by the
 * words of the label, by input type. The defaults fit the catalog's shared services; a file
 * given with --answers (`{"name": "value"}`) adds to the names. A value "!" on a checkbox or
 * radio name means "leave unticked"; `today+3:day` (`:month`, `:year`) is a part of the date
 * three days from today.
 */
const ANSWERS = {
  byName: {},
  byAutocomplete: {
    'given-name': 'Erika',
    'family-name': 'Mustermann',
    name: 'Erika Mustermann',
    'street-address': 'Hauptstraße 1',
    'address-line1': 'Hauptstraße',
    'postal-code': '12345',
    'address-level2': 'Musterstadt',
    email: 'erika.mustermann@example.org',
    tel: '+49 30 1234567',
    organization: 'Muster GmbH',
    'bday-day': '15',
    'bday-month': '6',
    'bday-year': '1980',
  },
  byLabel: [
    [/hausnummer|house number/i, '1'],
    [/postleitzahl|\bplz\b|postcode/i, '12345'],
    [/e-?mail/i, 'erika.mustermann@example.org'],
    [/telefon|phone/i, '+49 30 1234567'],
    [/\biban\b/i, 'DE02120300000000202051'],
    [/kennzeichen|number plate/i, 'M-AB 123'],
    [/anzahl|number of|how many/i, '1'],
    // A date in three parts; two weeks ahead fits a "from in three days" service and also a
    // "not in the past" one. Birth dates have autocomplete tokens and are answered above.
    [/^tag\b|^day\b/i, () => String(ahead(14).getDate())],
    [/^monat\b|^month\b/i, () => String(ahead(14).getMonth() + 1)],
    [/^jahr\b|^year\b/i, () => String(ahead(14).getFullYear())],
  ],
  byType: {
    email: 'erika.mustermann@example.org',
    tel: '+49 30 1234567',
    number: '1',
    date: () => ahead(14).toISOString().slice(0, 10),
    textarea: 'Vor dem Haus Hauptstraße 1 ist ein Schlagloch, etwa 30 cm breit.',
    text: 'Test',
  },
};

function ahead(days) {
  const d = new Date();
  d.setDate(d.getDate() + days);
  return d;
}

const USAGE = 'usage: node check-live.mjs BASE_URL [--service /TENANT/SERVICE/] [--answers FILE.json] [--screenshots OUT]';

class WalkError extends Error {}

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      service: { type: 'string', default: CONVENTIONS.service },
      answers: { type: 'string' },
      screenshots: { type: 'string', default: path.join(REPO, 'target', 'screenshots', 'live') },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help || positionals.length !== 1) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  if (values.answers) Object.assign(ANSWERS.byName, JSON.parse(await readFile(values.answers, 'utf8')));
  const startUrl = new URL(values.service, positionals[0]).href;
  const started = Date.now();
  const htmlDir = await mkdtemp(path.join(os.tmpdir(), 'baukasten-live-'));
  await mkdir(values.screenshots, { recursive: true });

  const { browser, context } = await launchBrowser({ origin: new URL(startUrl).origin });
  const page = await context.newPage();
  const walk = new Walk(page, htmlDir, values.screenshots, await uploadFiles(htmlDir));
  let failure = null;
  try {
    await walk.run(startUrl);
  } catch (error) {
    failure = error;
  } finally {
    await browser.close();
  }

  const vnuErrors = await runVnu(walk.pages.map((p) => p.file));
  await rm(htmlDir, { recursive: true, force: true });

  console.log('');
  for (const p of walk.pages) console.log(`page ${p.name}: ${p.url} "${p.title}"`);
  printVnuErrors(vnuErrors, (f) => walk.pages.find((p) => p.file === f)?.name ?? f);
  let violations = 0;
  let nodes = 0;
  for (const p of walk.pages) {
    printAxeViolations(`${p.name} (${p.url})`, p.axe);
    violations += p.axe.length;
    nodes += axeNodeCount(p.axe);
  }
  if (walk.liveAsked === 0 && walk.liveOffered) walk.problems.push('the pages offer live updates, but the script never asked the server');
  for (const problem of walk.problems) console.log(`keyboard ${problem}`);
  if (failure) {
    console.log(`walk stopped: ${failure instanceof WalkError ? failure.message : failure.stack}`);
  }

  const failedPages = new Set(vnuErrors.map((e) => e.file));
  for (const p of walk.pages) if (p.axe.length > 0) failedPages.add(p.file);
  const walkFailures = walk.problems.length + (failure ? 1 : 0);
  console.log('');
  console.log(`pages checked: ${walk.pages.length}`);
  console.log(`reference: ${walk.reference ?? 'none'}`);
  console.log(`vnu errors: ${vnuErrors.length}`);
  console.log(`axe violations: ${violations} (${nodes} elements)`);
  console.log(`keyboard problems: ${walkFailures}`);
  console.log(`live updates asked: ${walk.liveAsked}`);
  console.log(`time: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const passed = walk.pages.length - failedPages.size;
  console.log(`live: ${passed} passed, ${failedPages.size + walkFailures} failed`);
  return failedPages.size + walkFailures === 0 ? 0 : 1;
}

/** One keyboard-only walk through a service, with everything it saw. */
class Walk {
  constructor(page, htmlDir, shotDir, files) {
    this.page = page;
    this.htmlDir = htmlDir;
    this.shotDir = shotDir;
    this.files = files; // { pdf, png }: paths of small valid files for uploads
    this.liveAsked = 0; // live evaluations the script asked for
    this.liveOffered = false; // whether a step page carried data-evaluate
    this.liveInFlight = 0;
    page.on('request', (request) => {
      if (isLive(request)) {
        this.liveAsked++;
        this.liveInFlight++;
      }
    });
    const done = (request) => {
      if (isLive(request)) this.liveInFlight--;
    };
    page.on('requestfinished', done);
    page.on('requestfailed', done);
    this.pages = []; // { name, url, title, file, axe }
    this.problems = []; // keyboard and flow problems that did not stop the walk
    this.reference = null;
    this.lastDocument = null;
    // The HTML exactly as the server sent it, for vnu: the browser's DOM would hide parse
    // errors. Redirects (303 after a POST) carry no page; the page is the response after them.
    // A script error or a file of the server's that does not load is something the citizen
    // meets; requests off this machine are refused on purpose (see launchBrowser) and skipped.
    page.on('pageerror', (error) => this.problems.push(`script error on ${page.url()}: ${error.message}`));
    page.on('requestfailed', (request) => {
      const error = request.failure()?.errorText ?? '';
      // The optional script's live evaluation is cancelled when the page navigates on while
      // it is in flight (the citizen pressed "Weiter"): that is the browser's doing, not a
      // file that failed to load.
      const aborted = error === 'net::ERR_ABORTED' && ['fetch', 'xhr'].includes(request.resourceType());
      if (!error.startsWith(BLOCKED) && !aborted) {
        this.problems.push(`${request.url()} did not load on ${page.url()}: ${request.failure()?.errorText}`);
      }
    });
    page.on('response', (response) => {
      const request = response.request();
      if (request.isNavigationRequest() && request.frame() === page.mainFrame() && !(response.status() >= 300 && response.status() < 400)) {
        this.lastDocument = response.text().catch(() => '');
      }
    });
  }

  async run(startUrl) {
    const { page } = this;
    const response = await page.goto(startUrl, { waitUntil: 'load' });
    if (!response || response.status() !== 200) {
      throw new WalkError(`${startUrl} answered ${response ? response.status() : 'nothing'}, not 200`);
    }
    await this.record('start');

    // 1. Start the form from the start page.
    await this.tabTo((el) => (el.tag === 'a' || el.tag === 'button') && CONVENTIONS.start.test(el.label), 'the start link or button');
    await this.pressAndWait('Enter');
    await this.record('step-1');

    // 2. A failed submit: "Weiter" on the empty first step.
    await this.tabTo(CONVENTIONS.isContinue, 'the "Weiter" button (_action=continue)');
    await this.pressAndWait('Enter');
    await this.record('step-1-errors');
    await this.expectErrorState();

    // 3. The steps, answered field by field, until the summary.
    let repeatTried = false;
    for (let n = 1; ; n++) {
      if (this.pages.length > CONVENTIONS.maxPages) throw new WalkError(`no summary after ${CONVENTIONS.maxPages} pages`);
      if (!repeatTried) repeatTried = await this.addAndRemoveItem(n);
      await this.answerAll();
      if (await this.isSummary()) break;
      await this.settle();
      await this.tabTo(CONVENTIONS.isContinue, 'the "Weiter" button (_action=continue)');
      await this.checkReverseOrder(CONVENTIONS.isContinue);
      await this.pressAndWait('Enter');
      if (CONVENTIONS.errorTitle.test(await this.page.title())) {
        await this.record(`step-${n}-rejected`);
        throw new WalkError(`our answers were refused on ${page.url()}: ${await this.errorTexts()} (adapt ANSWERS or pass --answers)`);
      }
      if (await this.isSummary()) {
        await this.record('summary');
        break;
      }
      await this.record(`step-${n + 1}-${new URL(page.url()).pathname.split('/').filter(Boolean).pop()}`);
    }

    // 4. The summary: tick the declaration (answerAll does that) and send.
    await this.answerAll();
    await this.tabTo(CONVENTIONS.isSend, 'the send button on the summary');
    await this.pressAndWait('Enter');
    await this.record('confirmation');
    if (CONVENTIONS.errorTitle.test(await page.title())) {
      throw new WalkError(`sending was refused: ${await this.errorTexts()}`);
    }

    // 5. The confirmation names a reference.
    const text = await page.locator('body').innerText();
    this.reference = text.match(CONVENTIONS.reference)?.[0] ?? null;
    if (!this.reference) this.problems.push(`the confirmation page (${page.url()}) shows no reference like BPA-2026-7K3Q9`);
  }

  /** Runs axe on the current page, keeps the HTML the server sent, and takes a screenshot. */
  async record(name) {
    const { page } = this;
    const index = String(this.pages.length + 1).padStart(2, '0');
    const file = path.join(this.htmlDir, `${index}-${name}.html`);
    await writeFile(file, (await this.lastDocument) ?? '');
    await page.screenshot({ path: path.join(this.shotDir, `${index}-${name}.png`), fullPage: true });
    this.pages.push({ name: `${index}-${name}`, url: page.url(), title: await page.title(), file, axe: await runAxe(page) });
  }

  /** After a failed submit: the title, the error summary, focus on it, and its links. */
  async expectErrorState() {
    const { page } = this;
    const title = await page.title();
    if (!CONVENTIONS.errorTitle.test(title)) this.problems.push(`after an empty submit the title is "${title}", not "Fehler: …"`);
    const summary = await page.evaluateHandle((heading) => {
      const alert = document.querySelector('[role=alert]');
      if (alert) return alert;
      const h = [...document.querySelectorAll('h1,h2,h3')].find((x) => x.textContent.trim() === heading);
      return h ? h.closest('div,section,aside') ?? h : null;
    }, CONVENTIONS.errorHeading);
    if (!(await summary.evaluate((s) => s !== null))) {
      throw new WalkError('after an empty submit there is no error summary (role=alert or the heading "Es gibt ein Problem")');
    }
    const focused = await summary.evaluate((s) => s.contains(document.activeElement) && document.activeElement !== document.body);
    if (!focused) {
      const at = await this.focused();
      this.problems.push(`after a failed submit the focus is on ${describe(at)}, not in the error summary`);
      return;
    }
    // The summary's first link must lead to a field on this page (WCAG 3.3.1).
    const link = await this.tabTo((el) => el.tag === 'a' && el.inErrorSummary, 'the first link in the error summary', 5);
    if (!link.href.includes('#')) {
      this.problems.push(`the error summary's link "${link.label}" does not point into the page`);
      return;
    }
    await page.keyboard.press('Enter');
    await page.waitForFunction((hash) => location.hash === hash, new URL(link.href).hash, { timeout: 2000 }).catch(() => {});
    const exists = await page.evaluate(() => document.querySelector(':target') !== null);
    if (!exists) this.problems.push(`the error summary's link "${link.label}" (${link.href}) leads to no element`);
  }

  /**
   * Tabs once around the whole page and answers every control on the way. Going all the way
   * round (until a control comes back) means it does not matter where the focus started.
   */
  async answerAll() {
    const seen = new Set();
    for (let i = 0; i < CONVENTIONS.maxTabs; i++) {
      await this.page.keyboard.press('Tab');
      const el = await this.focused();
      if (el.tag === 'body') continue;
      if (seen.has(el.key)) return;
      seen.add(el.key);
      await this.answer(el);
    }
    throw new WalkError(`${CONVENTIONS.maxTabs} Tab presses did not go round ${this.page.url()}: a keyboard trap?`);
  }

  /**
   * On a page with a repeat: adds an item with the keyboard, expects the focus on the new
   * item's first field, removes that item again and expects the focus on the message that
   * says which item went. Returns whether the page had a repeat to try.
   */
  async addAndRemoveItem(n) {
    const { page } = this;
    const add = await page.evaluate(() => {
      const b = [...document.querySelectorAll('button[name="_action"][value^="add:"]')].find((x) => !x.closest('[hidden]'));
      return b ? b.value : null;
    });
    if (!add) return false;
    const repeat = add.slice('add:'.length);
    await this.tabTo((el) => el.tag === 'button' && el.value === add, `the button that adds to ${repeat}`);
    await this.pressAndWait('Enter');
    await this.record(`step-${n}-added`);
    const items = await page.evaluate(
      (r) => [...document.querySelectorAll(`button[name="_action"][value^="remove:${r}."]`)].map((b) => b.value),
      repeat,
    );
    const last = items.length > 0 ? Number(items[items.length - 1].split('.').pop()) : -1;
    const at = await this.focused();
    if (!at.name.startsWith(`${repeat}.${last}.`)) {
      this.problems.push(`after adding to ${repeat} the focus is on ${describe(at)}, not in the new item ${last + 1}`);
    }
    if (last < 0) return true;
    await this.tabTo((el) => el.tag === 'button' && el.value === `remove:${repeat}.${last}`, `the button that removes item ${last + 1}`);
    await this.pressAndWait('Enter');
    await this.record(`step-${n}-removed`);
    const status = await page.evaluate(() => {
      const el = document.activeElement;
      return el && el.getAttribute('role') === 'status' ? el.textContent.trim() : null;
    });
    if (!status || !/entfernt|removed/.test(status)) {
      this.problems.push(`after removing item ${last + 1} of ${repeat} the focus is on ${describe(await this.focused())}, not on a status message`);
    }
    return true;
  }

  /**
   * Waits until the script's live evaluations of the answers just given are back (it asks
   * 150 ms after a change), then checks that none of them hid a field that holds an answer.
   */
  async settle() {
    const { page } = this;
    this.liveOffered ||= await page.evaluate(() => document.querySelector('form[data-evaluate]') !== null);
    for (let i = 0; i < 100; i++) {
      await page.waitForTimeout(250);
      if (this.liveInFlight <= 0) break;
    }
    const hidden = await page.evaluate(() =>
      [...document.querySelectorAll('[data-field][hidden]')]
        .filter((w) =>
          [...w.querySelectorAll('input, select, textarea')].some((c) =>
            c.type === 'file' ? c.files.length > 0 : ['radio', 'checkbox'].includes(c.type) ? c.checked : c.value !== ''),
        )
        .map((w) => w.getAttribute('data-field')),
    );
    for (const path of hidden) this.problems.push(`the live update hid the answered field "${path}" on ${page.url()}`);
  }

  /** Answers the focused control with keys only. */
  async answer(el) {
    const { keyboard } = this.page;
    if (el.tag === 'input' && el.type === 'file') {
      if (wantedFor(el) === '!' || el.hasFile || !el.visible) return;
      // Space on a file input opens the chooser, as for a citizen; the walk picks the file.
      // Headless Chromium now and then lets a key press pass without a chooser: press again.
      for (let attempt = 1; ; attempt++) {
        const chooser = this.page.waitForEvent('filechooser', { timeout: 5000 }).catch(() => null);
        await keyboard.press('Space');
        const opened = await chooser;
        if (opened) {
          await opened.setFiles(/pdf/.test(el.accept) || el.accept === '' ? this.files.pdf : this.files.png);
          return;
        }
        if (attempt === 3) throw new WalkError(`Space on the file input ${describe(el)} opened no file chooser`);
      }
    }
    const wanted = Object.hasOwn(ANSWERS.byName, el.name) ? ANSWERS.byName[el.name] : undefined;
    if (el.tag === 'input' && el.type === 'radio') {
      if (wanted === '!') return;
      if (!el.groupChecked) await keyboard.press('Space');
      if (wanted !== undefined) await this.arrowTo((x) => x.value === String(wanted), 'ArrowDown');
      return;
    }
    if (el.tag === 'input' && el.type === 'checkbox') {
      const tick = wanted === undefined ? !el.groupChecked : wanted !== '!' && (wanted === true || String(wanted) === el.value);
      if (tick !== el.checked) await keyboard.press('Space');
      return;
    }
    if (el.tag === 'select') {
      if (wanted !== undefined) await this.arrowTo((x) => x.value === String(wanted), 'ArrowDown');
      else if (el.value === '') await keyboard.press('ArrowDown');
      return;
    }
    const typeable = el.tag === 'textarea' || (el.tag === 'input' && !['radio', 'checkbox', 'file', 'submit', 'button', 'reset', 'hidden', 'image'].includes(el.type));
    if (!typeable || el.readOnly) return;
    let value = wanted ?? valueFor(el);
    if (typeof value === 'function') value = value();
    value = relativeDate(value);
    if (el.value === String(value)) return;
    await keyboard.press('ControlOrMeta+A');
    await keyboard.press('Delete');
    await keyboard.type(String(value));
  }

  /** Presses an arrow key until the focused control satisfies `done` (for radios and selects). */
  async arrowTo(done, key) {
    for (let i = 0; i < 50; i++) {
      if (done(await this.focused())) return;
      await this.page.keyboard.press(key);
    }
    throw new WalkError(`no option of ${describe(await this.focused())} has the wanted value`);
  }

  /** Presses Tab until `want` holds for the focused element, and returns it. */
  async tabTo(want, what, max = CONVENTIONS.maxTabs) {
    for (let i = 0; i < max; i++) {
      await this.page.keyboard.press('Tab');
      const el = await this.focused();
      if (want(el)) return el;
    }
    throw new WalkError(`Tab never reached ${what} on ${this.page.url()}`);
  }

  /** Focus order goes both ways (WCAG 2.4.3): Shift+Tab leaves the control, Tab comes back. */
  async checkReverseOrder(isHere) {
    await this.page.keyboard.press('Shift+Tab');
    const before = await this.focused();
    await this.page.keyboard.press('Tab');
    const back = await this.focused();
    if (isHere(before) || !isHere(back)) {
      this.problems.push(`on ${this.page.url()} Shift+Tab then Tab from "Weiter" ends on ${describe(back)}`);
      await this.tabTo(isHere, 'the "Weiter" button again');
    }
  }

  async pressAndWait(key) {
    await Promise.all([this.page.waitForNavigation({ waitUntil: 'load' }), this.page.keyboard.press(key)]);
  }

  async isSummary() {
    const headings = await this.page.locator('h1').allInnerTexts();
    return headings.some((h) => CONVENTIONS.summaryHeading.test(h));
  }

  async errorTexts() {
    let texts = await this.page.locator('[role=alert] a').allInnerTexts();
    if (texts.length === 0) texts = await this.page.locator('[role=alert] li').allInnerTexts();
    return texts.length > 0 ? texts.join(' | ') : '(no error summary)';
  }

  /** What has the keyboard focus: enough to recognise and answer it, and a stable key. */
  focused() {
    return this.page.evaluate(() => {
      const el = document.activeElement ?? document.body;
      const tag = el.tagName.toLowerCase();
      const name = el.getAttribute('name') ?? '';
      const type = (el.getAttribute('type') ?? (tag === 'button' ? 'submit' : 'text')).toLowerCase();
      const byIds = (ids) => ids.split(/\s+/).map((id) => document.getElementById(id)?.textContent ?? '').join(' ');
      const label = (
        el.getAttribute('aria-label') ??
        (el.getAttribute('aria-labelledby') && byIds(el.getAttribute('aria-labelledby'))) ??
        (el.labels && el.labels.length > 0 ? el.labels[0].textContent : null) ??
        el.textContent
      )
        .replace(/\s+/g, ' ')
        .trim();
      const group = el.form && name ? [...el.form.elements].filter((x) => x.name === name && x.type === el.type) : [el];
      const summary = el.closest('[role=alert]');
      return {
        tag,
        type,
        name,
        id: el.id,
        value: 'value' in el ? String(el.value) : '',
        label,
        autocomplete: (el.getAttribute('autocomplete') ?? '').toLowerCase(),
        inputmode: el.getAttribute('inputmode') ?? '',
        checked: !!el.checked,
        groupChecked: group.some((x) => x.checked),
        readOnly: !!el.readOnly,
        href: tag === 'a' ? el.href : '',
        accept: el.getAttribute('accept') ?? '',
        hasFile: !!(el.files && el.files.length > 0),
        visible: !el.closest('[hidden]'),
        inErrorSummary: summary !== null,
        // A radio group is one stop for Tab, whichever of its radios holds the focus.
        key:
          type === 'radio'
            ? `radio|${name}`
            : `${tag}|${name}|${el.id}|${el.getAttribute('value') ?? ''}|${el.getAttribute('href') ?? ''}|${el.textContent.trim().slice(0, 40)}`,
      };
    });
  }
}

/**
 * A date part relative to today, as answers files write them: `today+3:day`, `today-1:year`.
 * Anything else is returned as it is.
 */
function relativeDate(value) {
  const m = /^today([+-]\d+):(day|month|year)$/.exec(String(value));
  if (!m) return value;
  const d = ahead(Number(m[1]));
  return String({ day: d.getDate(), month: d.getMonth() + 1, year: d.getFullYear() }[m[2]]);
}

/** The answer --answers gives for this control's name, if any. */
function wantedFor(el) {
  return Object.hasOwn(ANSWERS.byName, el.name) ? ANSWERS.byName[el.name] : undefined;
}

/** Whether a request is the script's live evaluation of a step. */
function isLive(request) {
  return request.method() === 'POST' && new URL(request.url()).pathname.endsWith('/live');
}

/** A small valid PDF and PNG in `dir`, for file inputs (the server checks what files hold). */
async function uploadFiles(dir) {
  const pdf = path.join(dir, 'nachweis.pdf');
  const png = path.join(dir, 'foto.png');
  const pdfText = [
    '%PDF-1.4',
    '1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj',
    '2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj',
    '3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >> endobj',
    'trailer << /Root 1 0 R >>',
    '%%EOF',
    '',
  ].join('\n');
  await writeFile(pdf, pdfText);
  // A 1×1 PNG.
  await writeFile(
    png,
    Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64'),
  );
  return { pdf, png };
}

/** The answer for a text-like control by autocomplete token, label words, then type. */
function valueFor(el) {
  const token = el.autocomplete.split(/\s+/).pop();
  if (token && Object.hasOwn(ANSWERS.byAutocomplete, token)) return ANSWERS.byAutocomplete[token];
  for (const [pattern, value] of ANSWERS.byLabel) if (pattern.test(el.label)) return value;
  if (el.tag === 'textarea') return ANSWERS.byType.textarea;
  if (el.inputmode === 'numeric' || el.inputmode === 'decimal') return ANSWERS.byType.number;
  return ANSWERS.byType[el.type] ?? ANSWERS.byType.text;
}

function describe(el) {
  if (el.tag === 'body') return 'the page itself (nothing focused)';
  return `<${el.tag}${el.name ? ` name="${el.name}"` : ''}${el.id ? ` id="${el.id}"` : ''}> "${el.label.slice(0, 60)}"`;
}

// A last guard for CI: whatever hangs (a page, the browser, the JVM), the check ends.
setTimeout(() => {
  console.error('check-live: gave up after 10 minutes');
  process.exit(2);
}, 10 * 60_000).unref();

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`check-live: ${error.stack || error}`);
    process.exit(2);
  },
);
