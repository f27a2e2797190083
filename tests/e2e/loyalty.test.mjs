// The loyalty flow in real headless Chromium: one branch per NPS category, axe-core at every
// step, languages, right-to-left layout, and the owner's appearance settings.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  axeViolations, createDatabase, eventually, exportResponses, hostPage, launchBrowser, saveSurvey,
  startHostPages, startServer, tearDown,
} from './harness.mjs';

const DIMENSIONS = ['fairness', 'service_quality', 'commercial_friendship', 'satisfaction', 'trust',
  'cognitive', 'affective', 'calculative', 'conative', 'behavioural'];
const SURVEY = {
  open_question: true,
  statements_per_visitor: 3,
  dimensions: DIMENSIONS,
  effort: ['detractor'],
  effort_checklist: true,
  contact: ['detractor', 'passive'],
  reward: { coupon: { code: 'AITAH10' } },
  appearance: { brand_color: '#1a5fb4', mode: 'auto', position: 'bottom_right' },
};

describe('the loyalty flow', () => {
  let db, server, pages, browser;
  const sites = {};
  const tag = (name, attributes = '') =>
    `<script src="${server.url}/widget.js" data-site="${sites[name].site_id}" ${attributes} async></script>`;

  before(async () => {
    pages = await startHostPages({
      '/': { get html() { return hostPage('<h1>Kohvik</h1>', { snippet: tag('flow') }); } },
      '/ar': { get html() { return hostPage('<h1>مقهى</h1>', { snippet: tag('flow') }).replace('lang="en"', 'lang="ar"'); } },
      '/data-lang': { get html() { return hostPage('<h1>Kawiarnia</h1>', { snippet: tag('flow', 'data-lang="et"') }).replace('lang="en"', 'lang="pl"'); } },
      '/no-lang': { get html() { return hostPage('<h1>Kahvila</h1>', { snippet: tag('flow') }).replace(' lang="en"', ''); } },
      '/inline': { get html() { return hostPage('<main><div id="feedback"></div></main>', { snippet: tag('inline') }); } },
      '/bar': { get html() { return hostPage('<h1>Kohvik</h1>', { snippet: tag('bar') }); } },
    });
    db = createDatabase();
    for (const name of ['flow', 'inline', 'bar']) {
      sites[name] = db.addSite({ name, origins: [pages.origin], cooldownDays: 0 });
    }
    server = await startServer(db.database);
    // Saved before any page asks, so no cached version 1 is served.
    await saveSurvey(server.url, sites.flow, SURVEY);
    await saveSurvey(server.url, sites.inline, {
      ...SURVEY, appearance: { brand_color: '#ffd500', mode: 'dark', position: { inline: { selector: '#feedback' } } },
    });
    await saveSurvey(server.url, sites.bar, { ...SURVEY, appearance: { ...SURVEY.appearance, position: 'bottom_bar' } });
    browser = await launchBrowser();
  });

  after(() => tearDown({ browser, server, pages, db }));

  async function open(path = '/', options = {}) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...options });
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    await page.goto(`${pages.origin}${path}`);
    await page.locator('[role=radio]').first().waitFor();
    return { page, context };
  }

  /** axe-core finds nothing at this step. */
  async function accessible(page, step) {
    assert.deepEqual(await axeViolations(page), [], `axe violations at the ${step} step`);
  }

  async function chooseScore(page, score) {
    await accessible(page, 'score');
    await page.locator('[role=radio]', { hasText: new RegExp(`^${score}$`) }).click();
  }

  /** The one response of this page's visitor, once `ready` says it holds everything. */
  async function stored(site, ready) {
    const [response] = await eventually(async () => {
      const rows = await exportResponses(server.url, site);
      return rows.length > 0 && ready(rows.at(-1)) ? [rows.at(-1)] : null;
    });
    return response;
  }

  test('axe-core really looks inside the shadow root', async () => {
    const { page, context } = await open();
    await page.locator('section.card').evaluate((card) => card.append(document.createElement('input')));
    const violations = await axeViolations(page);
    assert.ok(violations.some((v) => v.id === 'label'), `an unlabelled input must be found: ${JSON.stringify(violations)}`);
    await context.close();
  });

  test('a detractor explains, rates two statements, reports effort and leaves an email', async () => {
    const { page, context } = await open();
    const before = (await exportResponses(server.url, sites.flow)).length;
    await chooseScore(page, 3);

    await page.getByLabel('What disappointed you?').fill('Waited 20 minutes for a coffee');
    await page.locator('.progress', { hasText: 'Question 2 of 6' }).waitFor();
    await accessible(page, 'open question');
    await page.getByRole('button', { name: 'Next' }).click();

    await page.getByRole('radio', { name: 'Disagree', exact: true }).waitFor();
    await accessible(page, 'first statement');
    await page.getByRole('radio', { name: 'Disagree', exact: true }).click();
    await page.locator('.progress', { hasText: 'Question 4 of 6' }).waitFor();
    await accessible(page, 'second statement');
    await page.getByRole('button', { name: 'Skip' }).click();

    await page.getByText('How easy was it to get what you needed?').waitFor();
    await accessible(page, 'effort');
    await page.locator('[role=radio]', { hasText: /^2$/ }).click();
    await page.getByLabel('I was passed on to someone else').check();
    await page.getByRole('button', { name: 'Next' }).click();

    await page.getByLabel('Your email').fill('mari@');
    await page.getByRole('button', { name: 'Yes, you may' }).click();
    const error = page.getByRole('alert');
    await error.filter({ hasText: 'name@example.com' }).waitFor();
    assert.equal(await page.getByLabel('Your email').getAttribute('aria-invalid'), 'true');
    await accessible(page, 'contact, with the email error');
    await page.getByLabel('Your email').fill('mari@example.ee');
    await page.getByRole('button', { name: 'Yes, you may' }).click();

    await page.getByText('will write to you at mari@example.ee').waitFor();
    await page.locator('.code', { hasText: 'AITAH10' }).waitFor();
    await accessible(page, 'thank-you');

    const answer = await stored(sites.flow, (r) => r.email);
    assert.equal((await exportResponses(server.url, sites.flow)).length, before + 1, 'one response for every step');
    assert.equal(answer.score, 3);
    assert.equal(answer.comment, 'Waited 20 minutes for a coffee');
    assert.equal(answer.statements.length, 2, 'both statements recorded as shown');
    assert.deepEqual(answer.statements.map((s) => s.answer).sort(), [2, null].sort());
    assert.notEqual(answer.statements[0].dimension, answer.statements[1].dimension);
    assert.equal(answer.effort, 2);
    assert.deepEqual(answer.effort_drivers, ['transferred']);
    assert.equal(answer.contact_consent, true);
    assert.equal(answer.email, 'mari@example.ee');
    assert.equal(answer.survey_version, 2);
    await context.close();
  });

  test('a passive skips the open question, rates three statements and declines contact', async () => {
    const { page, context } = await open();
    await chooseScore(page, 7);
    await page.getByLabel('What would make it a 10?').waitFor();
    await accessible(page, 'open question');
    await page.getByRole('button', { name: 'Skip' }).click();
    for (let statement = 1; statement <= 3; statement++) {
      await page.locator('.progress', { hasText: `Question ${statement + 2} of 6` }).waitFor();
      await accessible(page, `statement ${statement}`);
      await page.getByRole('radio', { name: 'Agree', exact: true }).click();
    }
    await page.getByText('May we contact you about this?').waitFor();
    await accessible(page, 'contact');
    await page.getByRole('button', { name: 'No, thanks' }).click();
    await page.locator('[role=status]', { hasText: 'Your answers were sent' }).waitFor();
    await accessible(page, 'thank-you');

    const answer = await stored(sites.flow, (r) => r.score === 7 && r.contact_consent === false);
    assert.equal(answer.comment, null);
    assert.deepEqual(answer.statements.map((s) => s.answer), [4, 4, 4]);
    assert.equal(new Set(answer.statements.map((s) => s.dimension)).size, 3);
    assert.equal(answer.effort, null, 'passives are not asked about effort');
    assert.equal(answer.email, null);
    await context.close();
  });

  test('a promoter says what they value, rates three statements and gets the reward', async () => {
    const { page, context } = await open();
    await chooseScore(page, 10);
    await page.getByLabel('What do you value most about us?').fill('The cinnamon buns');
    await accessible(page, 'open question');
    await page.getByRole('button', { name: 'Next' }).click();
    for (let statement = 1; statement <= 3; statement++) {
      await page.locator('.progress', { hasText: `Question ${statement + 2} of 5` }).waitFor();
      await accessible(page, `statement ${statement}`);
      await page.getByRole('radio', { name: 'Strongly agree' }).click();
    }
    await page.locator('.code', { hasText: 'AITAH10' }).waitFor();
    await accessible(page, 'thank-you with reward');
    const answer = await stored(sites.flow, (r) => r.score === 10 && r.statements.every((s) => s.answer === 5) && r.statements.length === 3);
    assert.equal(answer.comment, 'The cinnamon buns');
    assert.equal(answer.contact_consent, null, 'promoters are not asked for contact');
    await context.close();
  });

  test('an abandoned flow keeps its score and the statement on screen', async () => {
    const { page, context } = await open();
    await chooseScore(page, 6);
    await page.getByRole('button', { name: 'Skip' }).click();
    await page.getByRole('radio', { name: 'Agree', exact: true }).waitFor();
    await page.getByRole('button', { name: 'Close survey' }).click();
    await eventually(async () => (await page.locator('soovita-widget').count()) === 0);
    const answer = await stored(sites.flow, (r) => r.score === 6 && r.statements.length === 1);
    assert.equal(answer.statements[0].answer, null, 'shown, not answered');
    assert.equal(answer.comment, null);
    await context.close();
  });

  test('Arabic pages get a right-to-left card whose arrow keys follow the layout', async () => {
    const { page, context } = await open('/ar');
    const card = page.locator('section.card');
    assert.equal(await card.getAttribute('dir'), 'rtl');
    assert.equal(await card.getAttribute('lang'), 'ar');
    await page.getByText('ما مدى احتمال أن توصي').waitFor();
    const [zero, ten] = await Promise.all([0, 10].map((n) =>
      page.locator('[role=radio]', { hasText: new RegExp(`^${n}$`) }).boundingBox()));
    assert.ok(zero.x > ten.x, 'the scale runs right to left');
    await page.locator('[role=radio]', { hasText: /^5$/ }).focus();
    await page.keyboard.press('ArrowLeft');
    assert.equal(await page.locator('[role=radio][aria-checked=true]').textContent(), '6');
    await accessible(page, 'right-to-left score');
    await context.close();
  });

  test('data-lang beats the page language, and the browser language comes last', async () => {
    const estonian = await open('/data-lang');
    await estonian.page.getByText('kui tõenäoliselt soovitaksite meid').waitFor();
    await estonian.context.close();
    const finnish = await open('/no-lang', { locale: 'fi-FI' });
    await finnish.page.getByText('kuinka todennäköisesti suosittelisit').waitFor();
    await finnish.context.close();
  });

  test('inline and bottom-bar positions, dark and automatic modes, reduced motion and 200% zoom', async () => {
    const inline = await open('/inline', { colorScheme: 'light' });
    assert.equal(await inline.page.locator('#feedback > soovita-widget').count(), 1, 'the card is inside #feedback');
    const look = await inline.page.locator('section.card').evaluate((card) => ({
      position: getComputedStyle(card.getRootNode().host).position,
      background: getComputedStyle(card).backgroundColor,
    }));
    assert.deepEqual(look, { position: 'relative', background: 'rgb(29, 29, 34)' }, 'dark mode chosen by the owner');
    const selected = inline.page.locator('[role=radio]', { hasText: /^8$/ });
    await selected.hover();
    assert.equal(await selected.evaluate((b) => getComputedStyle(b).color), 'rgb(0, 0, 0)', 'black text on a yellow brand');
    await accessible(inline.page, 'inline, dark');
    await inline.context.close();

    const auto = await open('/', { colorScheme: 'dark' });
    const autoBackground = await auto.page.locator('section.card').evaluate((card) => getComputedStyle(card).backgroundColor);
    assert.equal(autoBackground, 'rgb(29, 29, 34)', 'mode auto follows prefers-color-scheme: dark');
    await accessible(auto.page, 'automatic dark mode');
    await auto.context.close();

    const bar = await open('/bar', { reducedMotion: 'reduce' });
    const animations = await bar.page.locator('section.card').evaluate((card) => card.getAnimations().length);
    assert.equal(animations, 0, 'no entrance animation for visitors who prefer reduced motion');
    const box = await bar.page.locator('section.card').boundingBox();
    assert.deepEqual([box.x, box.width, Math.round(box.y + box.height)], [0, 1280, 800]);
    await bar.context.close();

    // 200% zoom on a 1280×800 screen leaves a 640×400 CSS-pixel viewport.
    const zoomed = await open('/', { viewport: { width: 640, height: 400 }, deviceScaleFactor: 2 });
    const card = await zoomed.page.locator('section.card').boundingBox();
    assert.ok(card.x >= 0 && card.x + card.width <= 640 && card.y >= 0 && card.y + card.height <= 400,
      `the card fits the zoomed viewport: ${JSON.stringify(card)}`);
    await zoomed.page.locator('[role=radio]', { hasText: /^9$/ }).click();
    await zoomed.page.getByRole('button', { name: 'Next' }).click();
    await zoomed.page.getByRole('button', { name: 'Skip' }).scrollIntoViewIfNeeded();
    assert.ok(await zoomed.page.getByRole('button', { name: 'Skip' }).isVisible());
    await zoomed.context.close();
  });
});
