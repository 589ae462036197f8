// The checkers' own test: a checker that cannot fail is worse than none, so this proves that
// check-static.mjs and check-live.mjs pass clean pages and catch the mistakes they exist for.
// It runs them as programs, on the hand-made pages in fixtures/ and against the stand-in
// server in fixtures/live-server.mjs (neither is Baukasten's output).
//
// Run: node --test --test-concurrency=1 selftest.test.mjs   (run.sh does this first)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));

function node(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: HERE, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

/** Starts the stand-in server, runs `fn(baseUrl)`, and always stops the server again. */
async function withServer(args, fn) {
  const server = spawn(process.execPath, ['fixtures/live-server.mjs', ...args], { cwd: HERE, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const url = await new Promise((resolve, reject) => {
      server.stdout.once('data', (d) => resolve(String(d).match(/listening (\S+)/)[1]));
      server.once('exit', (code) => reject(new Error(`stand-in server exited with ${code}`)));
    });
    return await fn(url);
  } finally {
    server.kill();
  }
}

const shots = await mkdtemp(path.join(os.tmpdir(), 'baukasten-selftest-shots-'));
test.after(() => rm(shots, { recursive: true, force: true }));

test('check-static passes valid, accessible pages and photographs step, error and summary', async () => {
  const { code, out } = await node(['check-static.mjs', 'fixtures/good', '--screenshots', shots]);
  assert.equal(code, 0, out);
  assert.match(out, /^pages: 4 passed, 0 failed$/m);
  assert.match(out, /screenshots: musterstadt\/maengelmelder\/step-ort\.html, musterstadt\/maengelmelder\/step-ort-errors\.html, musterstadt\/maengelmelder\/summary\.html/);
});

test('check-static reports vnu errors, axe violations, missing files and dead links with their place', async () => {
  const { code, out } = await node(['check-static.mjs', 'fixtures/bad', '--screenshots', shots]);
  assert.equal(code, 1, out);
  assert.match(out, /^vnu {2}vnu-error\.html:7:\d+: No “p” element in scope but a “p” end tag seen\.$/m);
  assert.match(out, /^vnu {2}vnu-error\.html:8:\d+: Duplicate ID “x”\.$/m);
  assert.match(out, /^axe {2}axe-violation\.html: label \(critical\)/m);
  assert.match(out, /^axe {2}axe-violation\.html: color-contrast \(serious\)/m);
  assert.match(out, /^load missing-stylesheet\.html: could not load .*gibt-es-nicht\.css/m);
  assert.match(out, /^link broken-links\.html: dead link to gibt-es-nicht\.html: no such file$/m);
  assert.match(out, /^link broken-links\.html: dead link to broken-links\.html#feld-gibt-es-nicht: no element with id "feld-gibt-es-nicht" there$/m);
  assert.match(out, /^link broken-links\.html: dead link to axe-violation\.html#vorname: /m);
  assert.doesNotMatch(out, /dead link to vnu-error\.html#x/);
  assert.match(out, /^load step-fallback\.html: shows the error message \("Leider ist ein Fehler aufgetreten"\) instead of its content$/m);
  assert.doesNotMatch(out, /^load error\.html/m);
  assert.match(out, /^pages: 1 passed, 5 failed$/m);
});

test('check-static fails on a folder without pages', async () => {
  const empty = await mkdtemp(path.join(os.tmpdir(), 'baukasten-selftest-empty-'));
  try {
    const { code, out } = await node(['check-static.mjs', empty]);
    assert.equal(code, 1, out);
    assert.match(out, /no \.html file/);
  } finally {
    await rm(empty, { recursive: true, force: true });
  }
});

test('check-live completes a service by keyboard and finds the reference', async () => {
  await withServer([], async (url) => {
    const { code, out } = await node(['check-live.mjs', url, '--screenshots', shots]);
    assert.equal(code, 0, out);
    assert.match(out, /^reference: MM-2026-7K3Q9$/m);
    assert.match(out, /^page 03-step-1-errors: .* "Fehler: /m);
    assert.match(out, /^page \d+-confirmation: /m);
    assert.match(out, /^live: 6 passed, 0 failed$/m);
  });
});

for (const [broken, expected] of [
  ['focus', /after a failed submit the focus is on the page itself \(nothing focused\), not in the error summary/],
  ['title', /after an empty submit the title is "Was ist kaputt\? .*", not "Fehler: …"/],
  ['reference', /shows no reference like BPA-2026-7K3Q9/],
]) {
  test(`check-live fails when the server gets the ${broken} wrong`, async () => {
    await withServer(['--break', broken], async (url) => {
      const { code, out } = await node(['check-live.mjs', url, '--screenshots', shots]);
      assert.equal(code, 1, out);
      assert.match(out, expected);
    });
  });
}

test('check-live names the refused answers and the server\'s message when a step is rejected', async () => {
  const answers = path.join(shots, 'answers.json');
  await writeFile(answers, JSON.stringify({ email: 'keine-adresse' }));
  await withServer([], async (url) => {
    const { code, out } = await node(['check-live.mjs', url, '--answers', answers, '--screenshots', shots]);
    assert.equal(code, 1, out);
    assert.match(out, /walk stopped: our answers were refused on .*\/kontakt: Bitte geben Sie eine E-Mail-Adresse ein/);
  });
});
