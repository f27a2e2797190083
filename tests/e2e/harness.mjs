// Starts the real pieces for a browser test: the soovita binary on a random port with its own
// SQLite file, host pages on another origin, and Debian's Chromium driven by playwright-core.
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const root = resolve(import.meta.dirname, '../..');
export const binary = process.env.SOOVITA_BIN ?? join(root, 'target/debug/soovita');
/** Where tests leave what a person may want to look at afterwards (screenshots); git ignores it. */
export const artifacts = join(root, 'tests/artifacts');

/** Serves `pages` ({path: html, or {html, headers}}) on 127.0.0.1 at a random port; `html` may
 *  be any text or bytes, with a `content-type` in `headers`. */
export async function startHostPages(pages) {
  const server = createServer((request, response) => {
    const page = pages[new URL(request.url, 'http://x').pathname];
    if (page === undefined) {
      response.writeHead(404).end('not found');
      return;
    }
    const { html, headers = {} } = typeof page === 'string' ? { html: page } : page;
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', ...headers }).end(html);
  });
  await new Promise((done) => server.listen(0, '127.0.0.1', done));
  const port = server.address().port;
  return { port, origin: `http://127.0.0.1:${port}`, close: () => server.close() };
}

/** A fresh database with one site; returns what `soovita site add` printed. */
export function createDatabase() {
  const dir = mkdtempSync(join(tmpdir(), 'soovita-e2e-'));
  const database = `sqlite://${dir}/soovita.db`;
  return {
    database,
    addSite({ name = 'Kohvik', origins, samplePercent = 100, cooldownDays = 90, honorDoNotTrack = false }) {
      const args = ['site', 'add', '--name', name, '--database', database,
        '--sample-percent', String(samplePercent), '--cooldown-days', String(cooldownDays)];
      if (honorDoNotTrack) args.push('--honor-do-not-track');
      for (const origin of origins) args.push('--origin', origin);
      return JSON.parse(execFileSync(binary, args, { encoding: 'utf8' }));
    },
    /** An account; with `site` and `role`, also its membership of that site. */
    addOwner(email, password, { site, role } = {}) {
      const args = ['owner', 'add', '--email', email, '--database', database];
      if (site) args.push('--site', site, '--role', role);
      execFileSync(binary, args, { env: { ...process.env, SOOVITA_OWNER_PASSWORD: password } });
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Runs `soovita serve` on a random port, with settings in `env`, and waits until it answers /healthz. */
export async function startServer(database, env = {}) {
  const child = spawn(binary, ['serve', '--listen', '127.0.0.1:0', '--database', database], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, SOOVITA_LOG: 'warn', ...env },
  });
  const url = await new Promise((found, failed) => {
    let seen = '';
    child.stdout.on('data', (chunk) => {
      seen += chunk;
      const match = seen.match(/listening on (http:\/\/\S+)/);
      if (match) found(match[1]);
    });
    child.on('exit', (code) => failed(new Error(`soovita exited with ${code} before listening`)));
  });
  for (let delay = 10; ; delay = Math.min(delay * 2, 500)) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {}
    await new Promise((wait) => setTimeout(wait, delay));
  }
  return { url, stop: () => child.kill('SIGTERM') };
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export function embed(serverUrl, siteId) {
  return `<script src="${serverUrl}/widget.js" data-site="${siteId}" async></script>`;
}

/** The stub site owners paste before the loader, so that soovita(...) calls made before it
 *  arrives wait in a queue (README: "JavaScript API"). */
export const STUB = '<script>window.soovita=window.soovita||function(){(soovita.q=soovita.q||[]).push(arguments)}</script>';

export function hostPage(body, { head = '', snippet = '' } = {}) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Host</title>${head}</head>`
    + `<body>${body}${snippet}</body></html>`;
}

/** Stops whatever a suite's `before` got as far as starting. */
export async function tearDown({ browser, server, pages, db }) {
  await browser?.close();
  server?.stop();
  pages?.close();
  db?.remove();
}

/** Reads a site's answers through the admin API. */
export async function exportResponses(serverUrl, site) {
  const response = await fetch(`${serverUrl}/v1/sites/${site.site_id}/responses`, {
    headers: { authorization: `Bearer ${site.admin_token}` },
  });
  if (!response.ok) throw new Error(`export answered ${response.status}`);
  return response.json();
}

/** Saves a survey definition for `site` as its next version; returns the version. */
export async function saveSurvey(serverUrl, site, definition) {
  const response = await fetch(`${serverUrl}/v1/sites/${site.site_id}/survey/definition`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${site.admin_token}`, 'content-type': 'application/json' },
    body: JSON.stringify(definition),
  });
  if (response.status !== 201) throw new Error(`saving the survey answered ${response.status}: ${await response.text()}`);
  return (await response.json()).version;
}

const axeSource = readFileSync(resolve(root, 'node_modules/axe-core/axe.min.js'), 'utf8');

/** Runs axe-core inside the card's shadow root; returns the violations, each with its nodes. */
/** Runs axe-core on `context` (an axe context; the whole document when null) and returns its
 *  violations and how many rules passed. */
async function runAxe(page, context) {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ content: axeSource });
  return page.evaluate(async (context) => {
    const result = await window.axe.run(context ?? document);
    return {
      passed: result.passes.length,
      violations: result.violations.map((v) => ({ id: v.id, help: v.help, nodes: v.nodes.map((n) => n.html) })),
    };
  }, context);
}

/** axe-core's violations on a whole page (the console: no shadow roots), and how many rules it
 *  checked and passed, so a run that looked at nothing cannot pass for a clean one. The page's
 *  context must bypass its Content-Security-Policy, which allows no script at all. */
export const axePageViolations = (page) => runAxe(page, null);

/** Fails unless axe-core checked more than 10 rules of the whole page and found no violation. */
export async function assertPageAccessible(page, name) {
  const { passed, violations } = await axePageViolations(page);
  assert.ok(passed > 10, `axe checked the ${name} page`);
  assert.deepEqual(violations, [], `${name}: ${JSON.stringify(violations, null, 2)}`);
}

/** Signs `owner` ({email, password}) in through the console's form. */
export async function signIn(page, serverUrl, owner) {
  await page.goto(`${serverUrl}/console/sign-in`);
  await page.getByLabel('Email').fill(owner.email);
  await page.getByLabel('Password').fill(owner.password);
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Sign in' }).click()]);
}

export async function axeViolations(page) {
  return (await runAxe(page, { fromShadowDom: ['soovita-widget', 'section.card'] })).violations;
}

/** Polls `probe` until it returns something truthy; fails after `timeoutMs`. */
export async function eventually(probe, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 20; ; delay = Math.min(delay * 2, 250)) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((wait) => setTimeout(wait, delay));
  }
}
