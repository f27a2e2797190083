// The widget in real headless Chromium, embedded cross-origin on host pages, against the real
// server and database.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createDatabase, embed, eventually, exportResponses, hostPage, launchBrowser, startHostPages, startServer, tearDown,
} from './harness.mjs';

const HOSTILE_CSS = '<style>button{display:none!important} *{font-size:40px!important;color:red!important}'
  + ' div{position:static!important} soovita-widget{display:none!important}</style>';
const ARTICLE = '<h1 id="title">Kohvik</h1><p id="text">' + 'Fresh coffee. '.repeat(200) + '</p>'
  + '<a href="#a">First link</a> <a href="#b">Second link</a>';

describe('the widget on a host page', () => {
  let db, server, pages, browser, site, sampledOut;
  const snippets = {};

  before(async () => {
    // The host pages need their port before the site can allow their origin.
    pages = await startHostPages({
      '/': { get html() { return hostPage(ARTICLE, { snippet: snippets.main }); } },
      '/hostile': { get html() { return hostPage(ARTICLE, { head: HOSTILE_CSS, snippet: snippets.main }); } },
      '/sampled-out': { get html() { return hostPage(ARTICLE, { snippet: snippets.sampledOut }); } },
      '/private': { get html() { return hostPage(ARTICLE, { snippet: snippets.private }); } },
      '/strict-csp': {
        get html() { return hostPage(ARTICLE, { snippet: snippets.main }); },
        get headers() { return { 'content-security-policy': snippets.csp }; },
      },
    });
    db = createDatabase();
    site = db.addSite({ origins: [pages.origin], cooldownDays: 90 });
    sampledOut = db.addSite({ name: 'Nobody', origins: [pages.origin], samplePercent: 0 });
    const privateSite = db.addSite({ name: 'Private', origins: [pages.origin], honorDoNotTrack: true });
    server = await startServer(db.database);
    snippets.main = embed(server.url, site.site_id);
    snippets.sampledOut = embed(server.url, sampledOut.site_id);
    snippets.private = embed(server.url, privateSite.site_id);
    // The minimal policy README.md documents: nothing inline, nothing eval'd, no other origin.
    snippets.csp = `default-src 'none'; script-src 'self' ${server.url} 'wasm-unsafe-eval'; `
      + `connect-src ${server.url}; style-src 'self'`;
    browser = await launchBrowser();
  });

  after(() => tearDown({ browser, server, pages, db }));

  async function openPage(url, { viewport } = {}) {
    const context = await browser.newContext({ viewport: viewport ?? { width: 1280, height: 800 } });
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    const requests = [];
    page.on('request', (request) => requests.push(request.url()));
    await page.goto(url);
    return { page, context, requests };
  }

  test('a keyboard-only visitor answers every step, and the owner finds it in the export', async () => {
    const { page, context } = await openPage(`${pages.origin}/`);
    await page.locator('[role=radio]').first().waitFor();
    // Tab from the top of the page until focus enters the card's scale.
    let role = null;
    for (let presses = 0; presses < 20 && role !== 'radio'; presses++) {
      await page.keyboard.press('Tab');
      role = await page.evaluate(() => document.activeElement?.shadowRoot?.activeElement?.getAttribute('role'));
    }
    assert.equal(role, 'radio', 'Tab never reached the score scale');
    await page.keyboard.press('End');
    await page.keyboard.press('ArrowLeft');
    const checked = page.locator('[role=radio][aria-checked=true]');
    assert.equal(await checked.textContent(), '9');
    await page.keyboard.press('Space');

    const comment = page.locator('textarea');
    await comment.waitFor();
    assert.equal(await page.evaluate(() => document.activeElement.shadowRoot.activeElement.tagName), 'TEXTAREA');
    await page.keyboard.type('Lovely beans, fast delivery');
    await page.keyboard.press('Tab'); // Skip
    await page.keyboard.press('Tab'); // Next
    await page.keyboard.press('Enter');
    // Two loyalty statements for a promoter by default; focus lands on each scale.
    for (let statement = 0; statement < 2; statement++) {
      await page.getByRole('radio', { name: 'Strongly disagree' }).waitFor();
      await eventually(() => page.evaluate(() =>
        document.activeElement.shadowRoot?.activeElement?.textContent === 'Strongly disagree'));
      await page.keyboard.press('End');
      await page.keyboard.press('Space');
    }
    await page.locator('[role=status]', { hasText: 'Thank you' }).waitFor();

    const [answer] = await eventually(async () => {
      const rows = await exportResponses(server.url, site);
      return rows.length === 1 && rows[0].statements.filter((s) => s.answer).length === 2 ? rows : null;
    });
    assert.equal(answer.score, 9);
    assert.equal(answer.category, 'promoter');
    assert.equal(answer.comment, 'Lovely beans, fast delivery');
    assert.deepEqual(answer.statements.map((s) => s.answer), [5, 5]);
    assert.equal(answer.lang, 'en');
    await context.close();
  });

  test('the card comes back only after the cooldown, and loads no wasm meanwhile', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${pages.origin}/`);
    await page.locator('[role=radio]').first().waitFor();
    const requests = [];
    page.on('request', (request) => requests.push(request.url()));
    await page.reload({ waitUntil: 'networkidle' });
    assert.equal(await page.locator('soovita-widget').count(), 0);
    assert.deepEqual(requests.filter((url) => url.endsWith('.wasm') || url.includes('/survey')), []);
    await context.close();
  });

  test('a visitor outside the sample fetches no wasm and sees nothing', async () => {
    const { page, context, requests } = await openPage(`${pages.origin}/sampled-out`);
    await page.waitForLoadState('networkidle');
    assert.equal(await page.locator('soovita-widget').count(), 0);
    assert.ok(requests.some((url) => url.includes('/survey?lang=')), 'the loader never asked for the survey');
    assert.deepEqual(requests.filter((url) => url.includes('/assets/')), []);
    await context.close();
  });

  for (const signal of ['globalPrivacyControl', 'doNotTrack']) {
    test(`a site that honours privacy signals never asks a visitor who sends ${signal}`, async () => {
      const context = await browser.newContext();
      await context.addInitScript((name) => {
        Object.defineProperty(Navigator.prototype, name, { get: () => (name === 'doNotTrack' ? '1' : true) });
      }, signal);
      const page = await context.newPage();
      const requests = [];
      page.on('request', (request) => requests.push(request.url()));
      await page.goto(`${pages.origin}/private`, { waitUntil: 'networkidle' });
      assert.ok(requests.some((url) => url.includes('/survey?lang=')), 'the loader never asked for the survey');
      assert.deepEqual(requests.filter((url) => url.includes('/assets/')), []);
      assert.equal(await page.locator('soovita-widget').count(), 0);

      // Without the signal the same site asks as usual.
      const plain = await browser.newContext();
      const plainPage = await plain.newPage();
      await plainPage.goto(`${pages.origin}/private`);
      await plainPage.locator('[role=radio]').first().waitFor();
      await Promise.all([context.close(), plain.close()]);
    });
  }

  test('a page on an origin the site does not allow stores nothing', async () => {
    const before = (await exportResponses(server.url, site)).length;
    const foreign = `http://localhost:${pages.port}/`;
    const { page, context } = await openPage(foreign);
    await page.waitForLoadState('networkidle');
    assert.equal(await page.locator('soovita-widget').count(), 0, 'the card showed on a foreign origin');
    // Even a script on that page posting directly is refused.
    const status = await page.evaluate(async ({ url, id }) => {
      const response = await fetch(`${url}/v1/sites/${id}/responses`, {
        method: 'POST', mode: 'no-cors',
        body: JSON.stringify({ response_id: crypto.randomUUID?.() ?? '6f1d2c3b-4a59-4687-9a0b-1c2d3e4f5a6b', score: 0 }),
      });
      return response.type;
    }, { url: server.url, id: site.site_id });
    assert.equal(status, 'opaque');
    assert.equal((await exportResponses(server.url, site)).length, before);
    await context.close();
  });

  test('the card works on a page with a strict Content-Security-Policy', async () => {
    const context = await browser.newContext();
    await context.addInitScript(() => {
      window.__violations = [];
      document.addEventListener('securitypolicyviolation', (event) =>
        window.__violations.push(`${event.violatedDirective} ${event.blockedURI}`));
    });
    const page = await context.newPage();
    await page.goto(`${pages.origin}/strict-csp`);
    await page.locator('[role=radio]', { hasText: /^8$/ }).click();
    await page.getByRole('button', { name: 'Skip' }).waitFor();
    const style = await page.locator('section.card').evaluate((card) => getComputedStyle(card).borderRadius);
    assert.equal(style, '12px', 'the adopted stylesheet applies under style-src \'self\'');
    assert.deepEqual(await page.evaluate(() => window.__violations), []);
    await eventually(async () => (await exportResponses(server.url, site)).some((r) => r.score === 8));
    await context.close();
  });

  test('a hostile stylesheet neither hides nor restyles the card', async () => {
    const { page, context } = await openPage(`${pages.origin}/hostile`);
    const nine = page.locator('[role=radio]', { hasText: '9' });
    await nine.waitFor({ state: 'visible' });
    const style = await nine.evaluate((button) => {
      const computed = getComputedStyle(button);
      return { fontSize: computed.fontSize, display: computed.display, color: computed.color };
    });
    assert.deepEqual(style, { fontSize: '14px', display: 'block', color: 'rgb(31, 31, 36)' });
    const hostPosition = await page.evaluate(() => getComputedStyle(document.querySelector('soovita-widget')).position);
    assert.equal(hostPosition, 'fixed');
    await nine.click();
    await page.locator('textarea').waitFor({ state: 'visible' });
    await context.close();
  });

  test('the host layout does not move when the card appears', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await page.addInitScript(() => {
      window.__shift = 0;
      new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) window.__shift += entry.value;
      }).observe({ type: 'layout-shift', buffered: true });
    });
    // The load event fires before the async loader has shown the card.
    await page.goto(`${pages.origin}/`, { waitUntil: 'load' });
    const boxes = () => page.evaluate(() => ['title', 'text'].map((id) => {
      const { x, y, width, height } = document.getElementById(id).getBoundingClientRect();
      return { x, y, width, height };
    }));
    const before = await boxes();
    await page.locator('[role=radio]').first().waitFor({ state: 'visible' });
    assert.deepEqual(await boxes(), before);
    assert.equal(await page.evaluate(() => window.__shift), 0);
    await context.close();
  });

  test('the card fits a 320 px wide phone and can be dismissed', async () => {
    const { page, context } = await openPage(`${pages.origin}/`, { viewport: { width: 320, height: 640 } });
    // A new context has empty storage, so the cooldown of the first test does not apply.
    const card = page.locator('section.card');
    await card.waitFor({ state: 'visible' });
    const box = await card.boundingBox();
    assert.ok(box.x >= 0 && box.x + box.width <= 320, `card spans ${box.x}..${box.x + box.width}`);
    await page.getByRole('button', { name: 'Close survey' }).click();
    await eventually(async () => (await page.locator('soovita-widget').count()) === 0);
    await context.close();
  });
});
