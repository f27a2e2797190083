// Closing the loop in real headless Chromium against the real server and a real SMTP server
// (aiosmtpd, which scripts/setup test installs): an owner replies from the inbox with the
// default Estonian reply to an Estonian visitor, previewed first; the case is resolved and a
// check-back goes out; the visitor's click on its link records the new score. axe-core finds
// nothing on the inbox, the thread, the preview, the settings and templates, and the visitor's
// check-back page.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  assertPageAccessible, axePageViolations, createDatabase, eventually, launchBrowser, signIn, startServer, tearDown,
} from './harness.mjs';

const PYTHON = '/usr/bin/python3';

const freePort = () => new Promise((done) => {
  const probe = createServer().listen(0, '127.0.0.1', () => {
    const { port } = probe.address();
    probe.close(() => done(port));
  });
});

/** Messages the SMTP server accepted, oldest first, quoted-printable soft breaks undone. */
function messages(dir) {
  return readdirSync(dir).filter((name) => name.endsWith('.eml')).sort()
    .map((name) => readFileSync(join(dir, name), 'utf8').replace(/=\r?\n/g, ''));
}

const skip = existsSync(PYTHON) ? false : 'no /usr/bin/python3 with aiosmtpd: run scripts/setup test';

describe('closing the loop', { skip }, () => {
  let db, server, browser, smtp, mailDir, site;
  const origin = 'https://kohvik.example';
  const owner = { email: 'anu@kohvik.example', password: 'correct horse battery' };
  const visitor = 'mari@example.com';

  before(async () => {
    mailDir = mkdtempSync(join(tmpdir(), 'soovita-mail-'));
    const port = await freePort();
    smtp = spawn(PYTHON, ['-m', 'aiosmtpd', '-n', '-l', `127.0.0.1:${port}`, '-c', 'sink.Sink', mailDir], {
      env: { ...process.env, PYTHONPATH: resolve(import.meta.dirname, '../smtp') },
      stdio: 'ignore',
    });
    db = createDatabase();
    site = db.addSite({ name: 'Kohvik', origins: [origin] });
    db.addOwner(owner.email, owner.password, { site: site.site_id, role: 'admin' });
    server = await startServer(db.database, {
      SOOVITA_SMTP_URL: `smtp://127.0.0.1:${port}`,
      SOOVITA_MAIL_FROM: 'Kohvik <tere@kohvik.example>',
    });
    const answer = {
      response_id: crypto.randomUUID(), score: 3, lang: 'et', comment: 'Kohv oli külm',
      contact: { consent: true, email: visitor },
    };
    const response = await fetch(`${server.url}/v1/sites/${site.site_id}/responses`, {
      method: 'POST',
      headers: { origin, 'content-type': 'text/plain', 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0' },
      body: JSON.stringify(answer),
    });
    assert.equal(response.status, 200, await response.text());
    browser = await launchBrowser();
  });

  after(async () => {
    smtp?.kill();
    await tearDown({ browser, server, db });
    if (mailDir) rmSync(mailDir, { recursive: true, force: true });
  });

  test('a reply in Estonian, a check-back, and every page of it passes axe-core', async () => {
    // axe is a script, which the console's policy forbids: this context alone bypasses it.
    const context = await browser.newContext({ bypassCSP: true });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    const check = (name) => assertPageAccessible(page, name);

    await signIn(page, server.url, owner);
    await page.goto(`${server.url}/console/sites/${site.site_id}/inbox`);
    await page.getByText(/left to first contact/).waitFor();
    await check('inbox, with a case due');

    await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'Messages and reply' }).click()]);
    assert.equal(await page.getByLabel('Subject').inputValue(), 'Teie tagasiside Kohvik kohta', 'the Estonian reply to a detractor');
    assert.match(await page.getByLabel(/^Message to/).inputValue(), /Kohv oli külm[\s\S]*Mul on kahju/);
    await check('a case\'s thread, mail on');

    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Preview' }).click()]);
    await page.getByRole('heading', { name: 'The message as it will go out' }).waitFor();
    await check('the reply\'s preview');
    assert.deepEqual(messages(mailDir), [], 'a preview sends nothing');
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Send', exact: true }).click()]);
    const reply = await eventually(() => messages(mailDir).find((m) => m.includes(`To: ${visitor}`)), 20_000);
    assert.match(reply, /Subject: Teie tagasiside Kohvik kohta/);
    assert.match(reply, /Reply-To: anu@kohvik\.example/);
    assert.match(reply, /From: Kohvik <tere@kohvik\.example>/);
    await page.reload();
    await page.getByText(/^sent /).waitFor({ timeout: 20_000 });
    assert.match(await page.locator('main article.card').first().textContent(), /status contacted/, 'the first reply contacts');

    await page.goto(`${server.url}/console/sites/${site.site_id}/closing-the-loop`);
    await check('closing the loop settings');
    await page.goto(`${server.url}/console/sites/${site.site_id}/templates/et/detractor`);
    await check('a reply template');

    // Resolved, the case can be asked again.
    await page.goto(`${server.url}/console/sites/${site.site_id}/inbox`);
    await page.getByLabel('Status').selectOption('resolved');
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Save' }).click()]);
    await page.getByRole('link', { name: 'Messages and reply' }).click();
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Send a check-back' }).click()]);
    const checkBack = await eventually(() => messages(mailDir).find((m) => m.includes('Subject: =?utf-8?') || m.includes('/check-back/')), 20_000);
    const links = checkBack.match(/https?:\/\/\S+\/check-back\/\S+/g);
    assert.equal(links?.length, 11, checkBack);

    const visitorPage = await context.newPage();
    await visitorPage.goto(links[9]);
    assert.equal(await visitorPage.getAttribute('html', 'lang'), 'et');
    await visitorPage.getByText('9 / 10').waitFor();
    const { passed, violations } = await axePageViolations(visitorPage);
    assert.ok(passed > 5 && violations.length === 0, `the check-back page: ${JSON.stringify(violations, null, 2)}`);
    await Promise.all([visitorPage.waitForNavigation(), visitorPage.getByRole('button', { name: 'Saada vastus' }).click()]);
    await visitorPage.getByText('Aitäh! Teie vastus on salvestatud.').waitFor();
    await visitorPage.goto(links[2]);
    await visitorPage.getByText('Aitäh, teie vastus on meil juba olemas.').waitFor();

    await page.reload();
    assert.match(await page.locator('#check-back-answer').textContent(), /Answer: 9 \(was 3\)/);
    await page.goto(`${server.url}/console/sites/${site.site_id}`);
    assert.match(await page.locator('#recovery-detail').textContent(), /1 of 1 now answer 7 or more; median change \+6\.0/);
    await context.close();
  });
});
