// Comment themes in the console, in real headless Chromium against the real server: comments in
// Estonian and English, imported with the CLI over the last 60 days, make "delivery"/"tarne" the
// detractors' theme and "friendly"/"sõbralik" the promoters'; a term's page shows its comments
// with the term marked, their NPS computed here, and a comment's markup as text. No script
// runs, and axe-core finds nothing on either page.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  artifacts, assertPageAccessible, binary, createDatabase, launchBrowser, signIn, startServer, tearDown,
} from './harness.mjs';

describe('comment themes', () => {
  let db, server, browser, site;
  const owner = { email: 'kadri@kohvik.example', password: 'correct horse battery' };
  const everyday = { en: ['coffee', 'cake', 'table', 'music'], et: ['kohv', 'kook', 'laud', 'muusika'] };
  const rows = [];
  for (let n = 0; n < 200; n++) {
    const lang = n % 2 ? 'en' : 'et';
    const score = [2, 4, 10, 9, 8][n % 5];
    const words = [everyday[lang][n % 4]];
    if (score <= 6) words.unshift(lang === 'en' ? 'The delivery was slow' : 'Tarne oli aeglane');
    if (score >= 9 && n % 3) words.unshift(lang === 'en' ? 'Friendly staff' : 'Sõbralik teenindus');
    if (score >= 9 && (n % 10 === 2 || n % 10 === 7)) words.push(lang === 'en' ? 'fast delivery' : 'kiire tarne');
    rows.push({ lang, score, comment: words.join(', ') });
  }
  rows.push({ lang: 'en', score: 0, comment: '<img src=x onerror=alert(1)> delivery <script>alert(2)</script>' });
  const mentioning = rows.filter((row) => row.lang === 'en' && /delivery/i.test(row.comment));

  before(async () => {
    db = createDatabase();
    site = db.addSite({ name: 'Kohvik', origins: ['https://kohvik.example'] });
    db.addOwner(owner.email, owner.password, { site: site.site_id, role: 'admin' });
    const csv = ['time,lang,score,comment']
      .concat(rows.map((row, n) => `${Math.floor(Date.now() / 1000) - (n % 60) * 86_400 - n},${row.lang},${row.score},"${row.comment.replaceAll('"', '""')}"`))
      .join('\n');
    const file = join(db.database.replace('sqlite://', '').replace(/soovita\.db$/, ''), 'comments.csv');
    writeFileSync(file, csv);
    execFileSync(binary, ['import', '--database', db.database, '--site', site.site_id, '--format', 'csv',
      '--time-column', 'time', '--lang-column', 'lang', '--score-column', 'score', '--comment-column', 'comment', file]);
    server = await startServer(db.database);
    browser = await launchBrowser();
  });

  after(() => tearDown({ browser, server, db }));

  test('the dashboard lists each group\'s words, and a term\'s page its comments, marked, with their NPS', async () => {
    // axe is a script, which the console's policy forbids: this context alone bypasses it.
    const context = await browser.newContext({ bypassCSP: true });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    const dialogs = [];
    page.on('dialog', (dialog) => { dialogs.push(dialog.message()); dialog.dismiss(); });
    const check = (name) => assertPageAccessible(page, name);
    await signIn(page, server.url, owner);
    const dashboard = await page.goto(`${server.url}/console/sites/${site.site_id}`);
    assert.doesNotMatch(dashboard.headers()['content-security-policy'], /script-src|unsafe-inline/);

    const terms = (id) => page.locator(`#${id} tbody tr td:first-child a`).allTextContents();
    const detractors = await terms('themes-detractors');
    const promoters = await terms('themes-promoters');
    for (const word of ['delivery', 'tarne', 'slow']) assert.ok(detractors.includes(word), `${word} in ${detractors}`);
    for (const word of ['friendly', 'sõbralik']) assert.ok(promoters.includes(word), `${word} in ${promoters}`);
    for (const word of ['coffee', 'kohv', 'the', 'was', 'oli']) {
      assert.ok(!detractors.includes(word) && !promoters.includes(word), `${word} is no theme`);
    }
    await check('dashboard with themes');
    mkdirSync(artifacts, { recursive: true });
    await page.locator('#themes-detractors').screenshot({ path: join(artifacts, 'console-themes.png') });

    await Promise.all([
      page.waitForNavigation(),
      page.locator('#themes-detractors a', { hasText: /^delivery$/ }).click(),
    ]);
    const promotersThere = mentioning.filter((row) => row.score >= 9).length;
    const detractorsThere = mentioning.filter((row) => row.score <= 6).length;
    const n = mentioning.length;
    const nps = Math.round(100 * (promotersThere - detractorsThere) / n);
    assert.match(await page.locator('#term-summary').textContent(),
      new RegExp(`^NPS ${nps > 0 ? '\\+' : ''}${nps} ± [0-9.]+, n = ${n}: ${promotersThere} promoters, 0 passives, ${detractorsThere} detractors\\.$`));
    const marked = await page.locator('#mentions mark').allTextContents();
    assert.ok(marked.length >= Math.min(n, 100) && marked.every((text) => /^delivery$/i.test(text)), marked.join('|'));
    await page.locator('#mentions .comment', { hasText: '<img src=x onerror=alert(1)>' }).waitFor();
    assert.equal(await page.locator('main img, main script').count(), 0, 'no comment markup became an element');
    assert.ok(await page.getByRole('img', { name: 'NPS over time, with its 95% interval' }).count() === 1);
    await check('term page');
    await page.screenshot({ path: join(artifacts, 'console-theme-term.png'), fullPage: true });
    assert.deepEqual(dialogs, []);
    await context.close();
  });
});
