// Answers are never lost: the loader's outbox in real headless Chromium, against the real server.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createDatabase, embed, eventually, exportResponses, hostPage, launchBrowser, saveSurvey, startHostPages, startServer,
  tearDown,
} from './harness.mjs';

describe('delivering answers', () => {
  let db, server, pages, browser, site;
  const snippet = {};

  before(async () => {
    pages = await startHostPages({ '/': { get html() { return hostPage('<h1>Kohvik</h1>', { snippet: snippet.main }); } } });
    db = createDatabase();
    site = db.addSite({ origins: [pages.origin], cooldownDays: 0 });
    server = await startServer(db.database);
    snippet.main = embed(server.url, site.site_id);
    browser = await launchBrowser();
  });

  after(() => tearDown({ browser, server, pages, db }));

  async function open() {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    await page.goto(`${pages.origin}/`);
    await page.locator('[role=radio]').first().waitFor();
    return { context, page };
  }

  const outbox = (page) => page.evaluate(() => JSON.parse(localStorage.getItem('soovita') || '{}').outbox ?? {});
  const responsesWith = async (predicate) => (await exportResponses(server.url, site)).filter(predicate);
  const cors = () => ({ 'access-control-allow-origin': pages.origin, 'access-control-expose-headers': 'retry-after' });

  test('an answer given offline is delivered exactly once when the connection returns', async () => {
    const { context, page } = await open();
    await context.setOffline(true);
    await page.locator('[role=radio]', { hasText: /^4$/ }).click();
    await page.getByRole('button', { name: 'Next' }).waitFor();
    const queued = await outbox(page);
    assert.equal(Object.keys(queued).length, 1, 'the answer waits in the outbox');
    const [id] = Object.keys(queued);
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab]/, 'a time-ordered (version 7) id');
    const issuedAt = parseInt(id.replace(/-/g, '').slice(0, 12), 16);
    assert.ok(Math.abs(Date.now() - issuedAt) < 60_000, `the id carries the time it was made, not ${issuedAt}`);
    await context.setOffline(false);
    await eventually(async () => (await responsesWith((r) => r.response_id === id)).length === 1, 15_000);
    await eventually(async () => Object.keys(await outbox(page)).length === 0);
    assert.equal((await responsesWith((r) => r.response_id === id)).length, 1);
    await context.close();
  });

  test('a 429 is retried no sooner than its Retry-After says', async () => {
    const { context, page } = await open();
    const attempts = [];
    await page.route('**/responses', async (route) => {
      attempts.push(Date.now());
      if (attempts.length === 1) {
        await route.fulfill({ status: 429, headers: { ...cors(), 'retry-after': '2' },
          contentType: 'application/json', body: '{"error":{"code":"rate_limited","message":"retry in 2 s"}}' });
      } else {
        await route.continue();
      }
    });
    await page.locator('[role=radio]', { hasText: /^8$/ }).click();
    await eventually(async () => (await responsesWith((r) => r.score === 8)).length === 1, 15_000);
    assert.ok(attempts[1] - attempts[0] >= 1900, `retried after ${attempts[1] - attempts[0]} ms`);
    await context.close();
  });

  test('an answer the server refuses with 400 is dropped, not retried', async () => {
    const { context, page } = await open();
    const warnings = [];
    page.on('console', (message) => message.type() === 'warning' && warnings.push(message.text()));
    let attempts = 0;
    await page.route('**/responses', async (route) => {
      attempts += 1;
      await route.fulfill({ status: 400, headers: cors(), contentType: 'application/json',
        body: '{"error":{"code":"invalid_score","message":"score must be 0 to 10"}}' });
    });
    await page.locator('[role=radio]', { hasText: /^2$/ }).click();
    await eventually(() => warnings.some((w) => w.includes('invalid_score')));
    assert.deepEqual(await outbox(page), {});
    // A retry would come within 1.5 s; give it twice that.
    await page.waitForTimeout(3000);
    assert.equal(attempts, 1);
    await context.close();
  });

  test('the page context comes with the answer: path, UTM, referring site, device; the query only with the opt-in', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const page = await context.newPage();
    await page.goto(`${pages.origin}/?utm_source=newsletter&token=secret123`, { referer: 'https://news.example/article' });
    await page.locator('[role=radio]', { hasText: /^7$/ }).click();
    const [answer] = await eventually(async () => {
      const rows = await responsesWith((r) => r.score === 7 && r.context);
      return rows.length ? rows : null;
    });
    assert.deepEqual(answer.context, { path: '/', utm: { utm_source: 'newsletter' }, referrer: 'news.example', device: 'phone' });
    assert.ok(!JSON.stringify(answer).includes('secret123'), 'the query string is stored without the opt-in');
    await context.close();

    // A survey that opts in records it.
    const current = await fetch(`${server.url}/v1/sites/${site.site_id}/survey/definition`, {
      headers: { authorization: `Bearer ${site.admin_token}` },
    });
    const { definition } = await current.json();
    await saveSurvey(server.url, site, { ...definition, record_query_string: true });
    const recording = await browser.newContext();
    const recorded = await recording.newPage();
    await recorded.goto(`${pages.origin}/?plan=pro&utm_source=newsletter`);
    await recorded.locator('[role=radio]', { hasText: /^6$/ }).click();
    const [withQuery] = await eventually(async () => {
      const rows = await responsesWith((r) => r.score === 6 && r.context);
      return rows.length ? rows : null;
    });
    assert.equal(withQuery.context.query, 'plan=pro&utm_source=newsletter');
    await recording.close();
    await saveSurvey(server.url, site, definition);
  });

  test('a comment typed when the page closes arrives by beacon', async () => {
    const { context, page } = await open();
    await page.locator('[role=radio]', { hasText: /^9$/ }).click();
    await eventually(async () => Object.keys(await outbox(page)).length === 0);
    // From here on every fetch fails, so only the beacon can carry the comment.
    await page.route('**/responses', (route) => route.abort());
    await page.getByLabel('What do you value most about us?').fill('The oat milk flat white');
    await page.goto('about:blank');
    await eventually(async () => (await responsesWith((r) => r.comment === 'The oat milk flat white')).length === 1);
    await context.close();
  });

  test('a page closing with an answer still unsent beacons that response once, with its newest answers', async () => {
    const { context, page } = await open();
    // Every fetch fails, so the score waits in the outbox when the comment is typed.
    await page.route('**/responses', (route) => route.abort());
    await page.locator('[role=radio]', { hasText: /^9$/ }).click();
    await eventually(async () => Object.keys(await outbox(page)).length === 1);
    await page.getByLabel('What do you value most about us?').fill('Typed after the score failed');
    const before = await acceptedCount();
    await page.goto('about:blank');
    await eventually(async () => (await responsesWith((r) => r.comment === 'Typed after the score failed')).length === 1);
    // A second beacon (the outbox's older body beside the card's newer one) would be here by now.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    assert.equal((await acceptedCount()) - before, 1, 'one beacon for the one response');
    await context.close();
  });

  async function acceptedCount() {
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    return Number(/^soovita_responses_accepted_total(?:\{[^}]*\})? (\d+)/m.exec(metrics)?.[1] ?? 0);
  }
});
