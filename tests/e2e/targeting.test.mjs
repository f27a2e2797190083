// The loader's decisions in real Chromium: page rules, triggers, single-page-app navigation,
// the JavaScript API with its stub queue, and the fatigue cap across surveys. Whenever the
// loader decides against the card, the request log must show no card file at all.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  STUB, createDatabase, embed, eventually, exportResponses, hostPage, launchBrowser, saveSurvey, startHostPages,
  startServer, tearDown,
} from './harness.mjs';

const LONG = '<h1>Kohvik</h1>' + '<p>Fresh coffee, roasted on Tuesday.</p>'.repeat(400);
// The pages this suite visits; each test says which site's snippet they carry.
const PATHS = ['/', '/blog/new-beans', '/blog/private', '/shop', '/spa/pricing', '/long'];

describe('targeting in the loader', () => {
  let db, server, pages, browser;
  const sites = {};
  let snippet = '';

  before(async () => {
    const routes = {};
    for (const path of PATHS) routes[path] = { get html() { return hostPage(LONG, { snippet }); } };
    pages = await startHostPages(routes);
    db = createDatabase();
    for (const name of ['rules', 'delay', 'scroll', 'exit', 'api', 'spa', 'first', 'second']) {
      sites[name] = db.addSite({ name, origins: [pages.origin], cooldownDays: 0 });
    }
    server = await startServer(db.database);
    const target = (site, targeting) => saveSurvey(server.url, sites[site], { ...DEFINITION, targeting });
    await target('rules', {
      pages: [{ match: 'regex', value: '^/blog/' }, { match: 'exact', value: '/blog/private', exclude: true }],
    });
    await target('delay', { trigger: { delay: 2 } });
    await target('scroll', { trigger: { scroll: 90 } });
    await target('exit', { trigger: 'exit_intent' });
    await target('api', { trigger: 'api' });
    await target('spa', { trigger: { delay: 1 }, pages: [{ match: 'contains', value: 'pricing' }] });
    await target('first', { prompts_per_month: 1 });
    await target('second', { prompts_per_month: 1 });
    browser = await launchBrowser();
  });

  after(() => tearDown({ browser, server, pages, db }));

  /** Opens `path` carrying the snippet of `site`, recording every request the page makes. */
  async function visit(path, site, { context, before = '' } = {}) {
    snippet = before + embed(server.url, sites[site].site_id);
    context ??= await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    const requests = [];
    page.on('request', (request) => requests.push(request.url()));
    const surveyFetched = page.waitForResponse((response) => response.url().includes('/survey?lang='));
    await page.goto(pages.origin + path);
    await surveyFetched;
    const cardFiles = () => requests.filter((url) => url.includes('/assets/'));
    return { page, context, requests, cardFiles };
  }
  const shown = (page) => page.locator('[role=radio]').first().waitFor();
  /** Lets the loader act on what it fetched; the card, when it comes, needs far less. */
  const settle = (page) => page.waitForTimeout(1500);
  const cardCount = (page) => page.locator('soovita-widget').count();

  test('page rules: a regex allows /blog/, an exact rule excludes one page, others never fetch the card', async () => {
    for (const path of ['/shop', '/blog/private']) {
      const { page, context, cardFiles } = await visit(path, 'rules');
      await settle(page);
      assert.equal(await cardCount(page), 0, `the card showed on ${path}`);
      assert.deepEqual(cardFiles(), [], `${path} fetched card files`);
      await context.close();
    }
    const { page, context } = await visit('/blog/new-beans', 'rules');
    await shown(page);
    await context.close();
  });

  test('a delay trigger shows the card after the delay, having fetched the card while waiting', async () => {
    const { page, context, cardFiles } = await visit('/', 'delay');
    await eventually(() => cardFiles().some((url) => url.endsWith('.wasm')));
    assert.equal(await cardCount(page), 0, 'the card came before its delay');
    await shown(page);
    await context.close();
  });

  test('a scroll trigger waits for the visitor to scroll, and fetches nothing before', async () => {
    const { page, context, cardFiles } = await visit('/long', 'scroll');
    await settle(page);
    assert.equal(await cardCount(page), 0);
    assert.deepEqual(cardFiles(), []);
    await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
    await shown(page);
    await context.close();
  });

  test('an exit-intent trigger fires when the pointer leaves through the top edge', async () => {
    const { page, context, cardFiles } = await visit('/', 'exit');
    await page.mouse.move(600, 400);
    await page.mouse.move(600, 300);
    await settle(page);
    assert.equal(await cardCount(page), 0, 'moving inside the page showed the card');
    assert.deepEqual(cardFiles(), []);
    await page.mouse.move(600, 5);
    await page.mouse.move(600, -20);
    await shown(page);
    await context.close();
  });

  test('an api trigger waits for soovita("show")', async () => {
    const { page, context, cardFiles } = await visit('/', 'api');
    await settle(page);
    assert.equal(await cardCount(page), 0);
    assert.deepEqual(cardFiles(), []);
    await page.evaluate(() => window.soovita('show'));
    await shown(page);
    await context.close();
  });

  test('calls queued before the loader arrives are kept: attributes and show; destroy removes the card', async () => {
    const queued = STUB + '<script>soovita("attributes", {plan: "pro", seats: 12, "bad name": "x"});'
      + 'soovita("show")</script>';
    const { page, context } = await visit('/', 'api', { before: queued });
    const warnings = [];
    page.on('console', (message) => message.type() === 'warning' && warnings.push(message.text()));
    await shown(page);
    await page.evaluate(() => window.soovita('attributes', { beta: true }));
    await page.locator('[role=radio]', { hasText: '8' }).click();
    const answer = await eventually(async () => {
      const rows = await exportResponses(server.url, sites.api);
      return rows.find((row) => row.score === 8);
    });
    assert.deepEqual(answer.attributes, { beta: 'true', plan: 'pro', seats: '12' });
    assert.ok(warnings.some((text) => text.includes('attribute left out') && text.includes('bad name')), warnings.join('\n'));

    await page.evaluate(() => window.soovita('destroy'));
    assert.equal(await cardCount(page), 0, 'destroy left the card on the page');
    await context.close();
  });

  test('single-page navigation cancels a pending delay on a page that no longer matches, and re-arms on one that does', async () => {
    const { page, context } = await visit('/spa/pricing', 'spa');
    await page.evaluate(() => history.pushState({}, '', '/spa/checkout'));
    await page.waitForTimeout(2500);
    assert.equal(await cardCount(page), 0, 'the delay started on /spa/pricing fired on /spa/checkout');
    await page.evaluate(() => history.pushState({}, '', '/spa/pricing?plan=pro'));
    await shown(page);
    await context.close();
  });

  test('the fatigue cap counts prompts of every survey on the site', async () => {
    const context = await browser.newContext();
    const first = await visit('/', 'first', { context });
    await shown(first.page);
    await first.page.close();
    const second = await visit('/shop', 'second', { context });
    await settle(second.page);
    assert.equal(await cardCount(second.page), 0, 'a second survey prompted within the month');
    assert.deepEqual(second.cardFiles(), []);
    await context.close();
  });
});

// Every step off but the score, so a test needs one click to answer.
const DEFINITION = {
  open_question: false,
  statements_per_visitor: 0,
  dimensions: [],
  effort: [],
  effort_checklist: false,
  contact: [],
};
