// Importing history from the console in real headless Chromium against the real server: a
// Delighted export with a bad row is previewed (each refused row named, nothing written), the
// good file is imported in the background with its progress shown, and the results count it.
// axe-core finds nothing on the form, the preview and the outcome.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertPageAccessible, createDatabase, launchBrowser, signIn, startServer, tearDown } from './harness.mjs';

describe('importing history', () => {
  let db, server, browser, site;
  const owner = { email: 'anu@kohvik.example', password: 'correct horse battery' };
  const rows = 240;
  const scores = Array.from({ length: rows }, (_, n) => (n * 7) % 11);
  const day = (n) => new Date(Date.now() - (n % 200 + 1) * 86_400_000).toISOString().slice(0, 19).replace('T', ' ');
  const header = 'Response ID,Score,Comment,Response timestamp,Email,Name,Plan\n';
  const good = header + scores.map((score, n) => `${9000 + n},${score},Comment ${n},${day(n)} UTC,,Person ${n},pro\n`).join('');

  before(async () => {
    db = createDatabase();
    site = db.addSite({ name: 'Kohvik', origins: ['https://kohvik.example'] });
    db.addOwner(owner.email, owner.password, { site: site.site_id, role: 'admin' });
    server = await startServer(db.database);
    browser = await launchBrowser();
  });

  after(() => tearDown({ browser, server, db }));

  test('a Delighted export is previewed, refused rows named, then imported with its progress shown', async () => {
    const context = await browser.newContext({ bypassCSP: true });
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    const check = (name) => assertPageAccessible(page, name);
    await signIn(page, server.url, owner);
    await page.goto(`${server.url}/console/sites/${site.site_id}`);
    await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'Import', exact: true }).click()]);
    await check('import form');

    const upload = async (name, text) => {
      await page.getByLabel('Format').selectOption('delighted');
      await page.getByLabel('File').setInputFiles({ name, mimeType: 'text/csv', buffer: Buffer.from(text) });
      await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Check the file' }).click()]);
    };
    await upload('bad.csv', `${good}9999,n/a,,${day(1)} UTC,,,\n`);
    assert.equal(await page.locator('#preview').textContent(), `${rows + 1} rows read: ${rows} to add, 0 already there (left as they are), 1 refused.`);
    assert.deepEqual(await page.locator('tbody tr td').allTextContents(), [String(rows + 2), 'Score', '"n/a" is not a score: write a whole number from 0 to 10']);
    await page.getByRole('alert').filter({ hasText: 'Nothing will be imported' }).waitFor();
    await check('preview with a refused row');

    await page.goto(`${server.url}/console/sites/${site.site_id}/import`);
    await upload('delighted.csv', good);
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: `Import ${rows} responses` }).click()]);
    // The page reloads itself while the import runs.
    await page.locator('#outcome').waitFor();
    assert.equal(await page.locator('#outcome').textContent(), `Done: ${rows} responses added, 0 already there, 0 refused.`);
    await check('import done');

    await page.goto(`${server.url}/console/sites/${site.site_id}`);
    assert.equal(await page.locator('#responses').textContent(), String(rows));
    const promoters = scores.filter((s) => s >= 9).length;
    const detractors = scores.filter((s) => s <= 6).length;
    const nps = Math.round(100 * (promoters - detractors) / rows);
    assert.equal(await page.locator('#nps').textContent(), nps > 0 ? `+${nps}` : `${nps}`);

    // The same file again adds nothing.
    await page.goto(`${server.url}/console/sites/${site.site_id}/import`);
    await upload('delighted.csv', good);
    assert.equal(await page.locator('#preview').textContent(), `${rows} rows read: 0 to add, ${rows} already there (left as they are), 0 refused.`);
    await context.close();
  });
});
