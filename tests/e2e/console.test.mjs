// The site owners' console in real headless Chromium against the real server: signing in, the
// figures checked against values computed here, comments that stay text, the refusals, and a
// screenshot of the dashboard kept in tests/artifacts/.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import {
  artifacts, assertPageAccessible, axePageViolations, createDatabase, eventually, exportResponses, hostPage, launchBrowser, startHostPages,
  startServer, tearDown,
} from './harness.mjs';

describe('the console', () => {
  let db, server, browser, site;
  const origin = 'https://kohvik.example';
  const owner = { email: 'mari@kohvik.example', password: 'correct horse battery' };
  const scores = [10, 10, 9, 9, 9, 8, 7, 7, 6, 3, 0, 10, 9, 5, 8, 10, 2];
  const comments = new Map([
    [0, '<img src=x onerror=alert(1)>'],
    [1, '<xmp><script>alert(2)</script></xmp>'],
    [2, 'Best oat milk flat white in town'],
    [9, 'Slow at the till, twice'],
  ]);
  // Visitors who agreed to be contacted (only detractors and passives are asked by default).
  const contacts = new Map([[9, 'till@example.com'], [10, 'zero@example.com'], [14, 'eight@example.com']]);
  // Detractors are asked how easy it was (1 very difficult to 7 very easy) and what happened.
  const efforts = new Map([[9, [2, ['contacted_again']]], [10, [2, ['contacted_again', 'transferred']]], [13, [6, []]]]);
  const dialogs = [];

  before(async () => {
    db = createDatabase();
    site = db.addSite({ name: 'Kohvik', origins: [origin] });
    db.addOwner(owner.email, owner.password, { site: site.site_id, role: 'admin' });
    // Webhooks announce a response as soon as it is stored, not after the usual quiet time.
    // The test's receiver is on loopback, which webhooks may reach only with this flag.
    server = await startServer(db.database, { SOOVITA_WEBHOOK_SETTLE_SECONDS: '0', SOOVITA_WEBHOOK_ALLOW_PRIVATE: 'true' });
    for (const [i, score] of scores.entries()) {
      const answer = { response_id: crypto.randomUUID(), score, comment: comments.get(i) };
      if (contacts.has(i)) answer.contact = { consent: true, email: contacts.get(i) };
      if (efforts.has(i)) [answer.effort, answer.effort_drivers] = efforts.get(i);
      const response = await fetch(`${server.url}/v1/sites/${site.site_id}/responses`, {
        method: 'POST',
        headers: { origin, 'content-type': 'text/plain', 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0' },
        body: JSON.stringify(answer),
      });
      assert.equal(response.status, 200, await response.text());
    }
    browser = await launchBrowser();
  });

  after(() => tearDown({ browser, server, db }));

  async function newPage() {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      dialog.dismiss();
    });
    return { context, page };
  }

  async function signIn(page, password = owner.password) {
    await page.goto(`${server.url}/console`);
    assert.match(page.url(), /\/console\/sign-in$/, 'without a session, the console asks to sign in');
    await page.getByLabel('Email').fill(owner.email);
    await page.getByLabel('Password').fill(password);
    return Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Sign in' }).click()]).then(([r]) => r);
  }

  test('a wrong password is refused without saying whether the email has an account', async () => {
    const { context, page } = await newPage();
    const response = await signIn(page, 'not the password');
    assert.equal(response.status(), 401);
    await page.getByRole('alert').filter({ hasText: 'Wrong email or password.' }).waitFor();
    await context.close();
  });

  test('an owner signs in and sees the score, its margin, the split and the comments, as text', async () => {
    const { context, page } = await newPage();
    await signIn(page);
    const [cookie] = await context.cookies();
    assert.equal(cookie.name, 'soovita_session');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');
    assert.equal(cookie.path, '/console');

    const [response] = await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'Kohvik' }).click()]);
    const policy = response.headers()['content-security-policy'];
    assert.match(policy, /default-src 'none'/);
    assert.doesNotMatch(policy, /script-src|unsafe-inline|unsafe-eval/, 'no script may run at all');

    const n = scores.length;
    const promoters = scores.filter((s) => s >= 9).length;
    const detractors = scores.filter((s) => s <= 6).length;
    const p = promoters / n, d = detractors / n;
    const nps = Math.round(100 * (p - d));
    const margin = 100 * 1.96 * Math.sqrt((p + d - (p - d) ** 2) / n);
    assert.equal(await page.locator('#nps').textContent(), nps === 0 ? '0' : (nps > 0 ? `+${nps}` : `${nps}`));
    assert.equal(await page.locator('#responses').textContent(), String(n));
    const marginShown = page.locator('.card abbr[title]');
    assert.equal(await marginShown.textContent(), `± ${margin.toFixed(1)}`);
    assert.match(await marginShown.getAttribute('title'), /trinomial/, 'the method is in the tooltip');
    await page.getByText(`Promoters (9–10) ${promoters} ·`).waitFor();
    await page.getByText(`Passives (7–8), satisfied but not loyal ${n - promoters - detractors} ·`).waitFor();
    const chart = page.getByRole('img', { name: 'Responses by score, 0 to 10' });
    assert.equal(await chart.locator('rect').count(), 11);

    for (const comment of comments.values()) {
      assert.equal(await page.locator('.comment').filter({ hasText: comment }).count(), 1, `"${comment}" shows as text`);
    }
    assert.equal(await page.locator('main img, main xmp, main script').count(), 0, 'no visitor markup became elements');
    const answered = [...efforts.values()];
    const mean = answered.reduce((sum, [effort]) => sum + effort, 0) / answered.length;
    const difficult = Math.round(100 * answered.filter(([effort]) => effort <= 3).length / answered.length);
    const effort = await page.locator('#effort').textContent();
    assert.ok(effort.startsWith(`${answered.length} answers`), effort);
    assert.match(effort, new RegExp(`mean ${mean.toFixed(1)} of 7 .* ${difficult}% found it difficult`));
    const again = answered.filter(([, drivers]) => drivers.includes('contacted_again')).length;
    assert.deepEqual(
      await page.getByRole('row', { name: /Had to contact us again/ }).locator('td').allTextContents(),
      ['Had to contact us again', String(again), `${Math.round(100 * again / answered.length)}%`, '62%'],
    );
    await mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: join(artifacts, 'console-dashboard.png'), fullPage: true });

    const trend = page.getByRole('img', { name: 'NPS over time, with its 95% interval' });
    assert.equal(await trend.locator('circle').count(), 1, 'one month so far');
    assert.match(await trend.locator('desc').textContent(), new RegExp(`: ${nps} ± ${margin.toFixed(1)} \\(n = ${n}\\)`));

    const exportCsv = async () => {
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'CSV' }).click()]);
      return readFileSync(await download.path(), 'utf8').trim().split('\n');
    };
    assert.equal((await exportCsv()).length, n + 1, 'a header and every response');

    await page.getByLabel('Search comments').fill('OAT milk');
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Apply' }).click()]);
    assert.deepEqual(await page.locator('.comment').allTextContents(), ['Best oat milk flat white in town']);

    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    await page.getByLabel('Search comments').fill('');
    await page.getByLabel('From').fill(tomorrow);
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Apply' }).click()]);
    await page.getByText('No responses here yet.').waitFor();
    assert.equal(await page.locator('.comment').count(), 0);
    assert.equal((await exportCsv()).length, 1, 'the export follows the filter: only the header');

    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Sign out' }).click()]);
    assert.match(page.url(), /\/console\/sign-in$/);
    await page.goto(`${server.url}/console`);
    assert.match(page.url(), /\/console\/sign-in$/, 'signed out for good');
    assert.deepEqual(dialogs, [], 'no script from a comment ran');
    await context.close();
  });

  test('an owner works through the inbox: the soonest due first, a case moved to resolved, the times kept', async () => {
    const { context, page } = await newPage();
    await signIn(page);
    await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'Kohvik' }).click()]);
    await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: /^Inbox/ }).click()]);
    const cases = page.locator('article.case');
    assert.equal(await cases.count(), contacts.size, 'every visitor who agreed to be contacted, no one else');
    const emails = async () => (await cases.locator('a[href^="mailto:"]').allTextContents());
    assert.deepEqual(await emails(), ['till@example.com', 'zero@example.com', 'eight@example.com'],
      'the soonest due first: detractors (24 h), the older first, then the passive (72 h)');
    assert.match(await cases.first().locator('.due').textContent(), /^2[34] h left to first contact$/);
    assert.equal(await page.locator('#first-contact').textContent(), '–', 'nobody contacted yet');

    const first = cases.first();
    await first.getByLabel('Status').selectOption('resolved');
    await first.getByLabel('Internal notes').fill('Called back <b>today</b>; refund sent');
    await Promise.all([page.waitForNavigation(), first.getByRole('button', { name: 'Save' }).click()]);
    assert.deepEqual(await emails(), ['zero@example.com', 'eight@example.com', 'till@example.com'], 'resolved cases go last');
    const resolved = cases.last();
    assert.equal(await resolved.locator('.status').textContent(), 'resolved');
    assert.equal(await resolved.getByLabel('Internal notes').inputValue(), 'Called back <b>today</b>; refund sent');
    await resolved.getByText(/first contact after \d+ min · resolved after \d+ min/).waitFor();
    assert.match(await page.locator('#first-contact').textContent(), /^\d+ min$/);
    assert.match(await page.locator('#resolution').textContent(), /^\d+ min$/);
    assert.equal(await page.locator('main b').count(), 0, 'notes stay text too');
    await context.close();
  });

  test('an owner adds a webhook, sees its delivery in the log, re-sends it and deletes the webhook', async () => {
    const received = [];
    const receiver = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => { body += chunk; });
      request.on('end', () => {
        received.push({ headers: request.headers, raw: body, body: JSON.parse(body) });
        response.writeHead(204).end();
      });
    });
    await new Promise((done) => receiver.listen(0, '127.0.0.1', done));
    const hookUrl = `http://127.0.0.1:${receiver.address().port}/hook`;
    try {
      const { context, page } = await newPage();
      await signIn(page);
      await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'Kohvik' }).click()]);
      await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'Webhooks' }).click()]);
      await page.getByLabel('URL').fill(hookUrl);
      assert.ok(await page.getByLabel('a new detractor (0–6)').isChecked(), 'new detractors are announced by default');
      await page.getByLabel('a visitor asks to be contacted').check();
      await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Add webhook' }).click()]);
      const hook = page.locator('article.webhook');
      assert.equal(await hook.locator('strong').textContent(), hookUrl);
      const secret = await hook.locator('code.secret').textContent();
      assert.match(secret, /^[0-9a-f]{64}$/);

      const answer = { response_id: crypto.randomUUID(), score: 1, comment: 'Cold coffee <b>again</b>' };
      const posted = await fetch(`${server.url}/v1/sites/${site.site_id}/responses`, {
        method: 'POST',
        headers: { origin, 'content-type': 'text/plain', 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0' },
        body: JSON.stringify(answer),
      });
      assert.equal(posted.status, 200);
      await eventually(() => received.length === 1, 30_000);
      const [first] = received;
      assert.equal(first.headers['soovita-event'], 'new_detractor');
      assert.equal(first.body.response.id, answer.response_id);
      assert.equal(first.body.response.comment, answer.comment);
      const [, t, v1] = first.headers['soovita-signature'].match(/^t=(\d+),v1=([0-9a-f]{64})$/);
      const expected = createHmac('sha256', secret).update(`${t}.${first.raw}`).digest('hex');
      assert.equal(v1, expected, 'signed with the secret the console shows');

      await eventually(async () => {
        await page.reload();
        return (await page.locator('td.attempts').first().textContent()).trim() === '204';
      }, 15_000);
      const row = page.locator('tbody tr').first();
      assert.equal((await row.locator('td.status').textContent()).trim(), 'delivered');
      await Promise.all([page.waitForNavigation(), row.getByRole('button', { name: /^Re-send/ }).click()]);
      await eventually(() => received.length === 2, 30_000);
      assert.equal(received[1].headers['soovita-delivery'], first.headers['soovita-delivery'], 'the same delivery again');
      await eventually(async () => {
        await page.reload();
        return (await page.locator('td.attempts').first().textContent()).trim() === '204 · 204';
      }, 15_000);

      await Promise.all([page.waitForNavigation(), hook.getByRole('button', { name: 'Delete' }).click()]);
      await page.getByText('No webhooks yet.').waitFor();
      await page.getByText('Nothing sent yet.').waitFor();
      await context.close();
    } finally {
      receiver.close();
    }
  });

  test('an owner edits the survey, previews it in the real widget, and saves it as a new version', async () => {
    const { context, page } = await newPage();
    await signIn(page);
    await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'Kohvik' }).click()]);
    await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'Survey editor' }).click()]);
    const preview = page.frameLocator('iframe[title="Preview of the survey"]');
    await preview.getByText('How likely are you to recommend Kohvik to a friend or colleague?').waitFor();

    const question = 'Would you send a friend to Kohvik?';
    await page.getByLabel(/^Your wording/).fill(`en.nps_question = ${question}\nen.nope = x`);
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Preview' }).click()]);
    assert.match(await page.getByRole('alert').textContent(), /wording\.en\.nope is not a message of the card/);
    assert.equal(await page.getByLabel(/^Your wording/).inputValue(), `en.nps_question = ${question}\nen.nope = x`, 'the edits are kept');

    await page.getByLabel(/^Your wording/).fill(`en.nps_question = ${question}`);
    await page.getByLabel('Brand colour').fill('#aa3300');
    await page.getByLabel('Share of visitors asked (%)').fill('50');
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Preview' }).click()]);
    await preview.getByText(question).waitFor();
    const live = async () => (await fetch(`${server.url}/v1/sites/${site.site_id}/survey?lang=en`)).json();
    assert.notEqual((await live()).messages.nps_question, question, 'a preview publishes nothing');

    const stored = (await exportResponses(server.url, site)).length;
    await page.locator('iframe').scrollIntoViewIfNeeded();
    await preview.getByRole('radio', { name: /^9/ }).click();
    await preview.locator('textarea').waitFor();
    await new Promise((wait) => setTimeout(wait, 300));
    assert.equal((await exportResponses(server.url, site)).length, stored, 'answers in the preview are not stored');

    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Save as version 2' }).click()]);
    assert.equal((await page.getByRole('status').textContent()).trim(), 'Saved as version 2.');
    const config = await live();
    assert.equal(config.version, 2);
    assert.equal(config.messages.nps_question, question);
    assert.equal(config.survey.appearance.brand_color, '#aa3300');
    assert.equal(config.sample_percent, 50);
    assert.equal(await page.getByLabel(/^Your wording/).inputValue(), `en.nps_question = ${question}`);
    await context.close();
  });

  test('an owner adds a site, pastes its tag into a page elsewhere, and sees a visitor\'s answer there', async () => {
    const snippet = { tag: '' };
    const shop = await startHostPages({ '/': { get html() { return hostPage('<h1>Pood</h1>', { snippet: snippet.tag }); } } });
    try {
      const { context, page } = await newPage();
      await signIn(page);
      await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'Add a site' }).click()]);
      await page.getByLabel(/^Name/).fill('Pood');
      await page.getByLabel(/^Allowed origins/).fill(`shop dot example\n${shop.origin}`);
      const refused = await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Add the site' }).click()]);
      assert.equal(refused[0].status(), 400);
      await page.getByRole('alert').filter({ hasText: 'Allowed origins, line 1' }).waitFor();
      assert.equal(await page.getByLabel(/^Name/).inputValue(), 'Pood', 'the other fields are kept');
      await page.getByLabel(/^Allowed origins/).fill(shop.origin);
      await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Add the site' }).click()]);
      const token = (await page.locator('pre code').first().textContent()).trim();
      snippet.tag = (await page.locator('pre code').nth(1).textContent()).trim();
      const siteId = snippet.tag.match(/data-site="([0-9a-f]{32})"/)[1];
      assert.match(snippet.tag, new RegExp(`src="${server.url}/widget.js"`));

      const visitor = await browser.newContext();
      const shopper = await visitor.newPage();
      await shopper.goto(`${shop.origin}/`);
      await shopper.getByRole('radio', { name: '9', exact: true }).click();
      await shopper.locator('textarea').waitFor();
      const [answer] = await eventually(async () => {
        const rows = await exportResponses(server.url, { site_id: siteId, admin_token: token });
        return rows.length > 0 && rows;
      });
      assert.equal(answer.score, 9);
      await visitor.close();

      await page.goto(`${server.url}/console/sites/${siteId}/install`);
      await page.getByText('The tag works: a page on an allowed origin last fetched the survey').waitFor();
      await page.goto(`${server.url}/console/sites/${siteId}`);
      await page.getByRole('heading', { name: 'Pood' }).waitFor();
      assert.match(await page.locator('main').textContent(), /\+100/, 'the answer counts on the new site\'s dashboard');
      await page.goto(`${server.url}/console`);
      assert.deepEqual(await page.locator('main li a').allTextContents(), ['Kohvik', 'Pood']);
      await context.close();
    } finally {
      shop.close();
    }
  });

  test('an admin invites a teammate as member, who joins by the link and sees that site only, without its settings', async () => {
    const { context, page } = await newPage();
    await signIn(page);
    await page.goto(`${server.url}/console/sites/${site.site_id}/members`);
    await page.getByLabel('Email').fill('jaan@kohvik.example');
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Make an invitation link' }).click()]);
    const link = (await page.locator('pre code').textContent()).trim();
    await context.close();

    const teammate = await browser.newContext();
    const joining = await teammate.newPage();
    joining.setDefaultTimeout(15_000);
    await joining.goto(link);
    await joining.getByLabel(/^Choose a password/).fill('jaan has a long password');
    await Promise.all([joining.waitForNavigation(), joining.getByRole('button', { name: 'Make my account and join' }).click()]);
    assert.equal(new URL(joining.url()).pathname, `/console/sites/${site.site_id}`, 'signed in, on the site');
    await joining.goto(`${server.url}/console`);
    assert.deepEqual(await joining.locator('main li a').allTextContents(), ['Kohvik'], 'the new site of the owner is not listed');
    const settings = await joining.goto(`${server.url}/console/sites/${site.site_id}/settings`);
    assert.equal(settings.status(), 403);
    assert.match(await joining.locator('body').textContent(), /needs the admin role/);
    const again = await joining.goto(link);
    assert.equal(again.status(), 404, 'the link works once');
    await teammate.close();
  });

  test('the pages that run a site fit a 320 px wide screen', async () => {
    const context = await browser.newContext({ viewport: { width: 320, height: 640 } });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    await signIn(page);
    const wide = [];
    for (const path of ['/console', '/console/sites/new', 'install', 'settings', 'tokens', 'members']) {
      await page.goto(path.startsWith('/') ? `${server.url}${path}` : `${server.url}/console/sites/${site.site_id}/${path}`);
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      if (width > 320) wide.push(`${path}: ${width} px`);
    }
    assert.deepEqual(wide, [], 'pages wider than the screen scroll sideways');
    await context.close();
  });

  test('every console page passes axe-core', async () => {
    // axe is a script, which the console's policy forbids: this context alone bypasses it.
    const context = await browser.newContext({ bypassCSP: true });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    const checked = [];
    const check = async (name) => {
      await assertPageAccessible(page, name);
      checked.push(name);
    };
    await signIn(page, 'not the password');
    await check('sign-in, with its error');
    await signIn(page);
    await check('site list');
    await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'Kohvik' }).click()]);
    await check('dashboard');
    await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: /^Inbox/ }).click()]);
    await check('inbox');
    await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'Messages and reply' }).first().click()]);
    await check('a case\'s messages, mail off');
    await page.goto(`${server.url}/console/sites/${site.site_id}/webhooks`);
    await check('webhooks');
    await page.goto(`${server.url}/console/sites/${site.site_id}/survey`);
    await check('survey editor');
    await page.goto(`${server.url}/console/sites/${site.site_id}/install`);
    await check('install');
    await page.goto(`${server.url}/console/sites/${site.site_id}/settings`);
    await check('settings');
    await page.goto(`${server.url}/console/sites/${site.site_id}/tokens`);
    await page.getByLabel('What it is for').fill('help desk');
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Make the token' }).click()]);
    const made = (await page.locator('pre code').textContent()).trim();
    const withToken = () => fetch(`${server.url}/v1/sites/${site.site_id}/results`, { headers: { authorization: `Bearer ${made}` } });
    assert.equal((await withToken()).status, 200, 'the token shown opens the site\'s API');
    await check('API tokens, with a new one');
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Revoke help desk' }).click()]);
    const revoked = await withToken();
    assert.equal(revoked.status, 403);
    assert.equal((await revoked.json()).error.code, 'wrong_token', 'a revoked token no longer opens the API');
    await page.goto(`${server.url}/console/sites/${site.site_id}/members`);
    await page.getByLabel('Email').fill('tiina@kohvik.example');
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Make an invitation link' }).click()]);
    await check('members, with an invitation link');
    const invitation = (await page.locator('pre code').textContent()).trim();
    const invited = await context.newPage();
    await invited.goto(invitation);
    const { violations: invitedViolations } = await axePageViolations(invited);
    assert.deepEqual(invitedViolations, [], 'the invitation page');
    await invited.close();
    await page.goto(`${server.url}/console/sites/new`);
    await page.getByLabel(/^Name/).fill('Kiosk');
    await page.getByLabel(/^Allowed origins/).fill('not an origin');
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Add the site' }).click()]);
    await check('add a site, with what to fix');
    assert.equal(checked.length, 12);
    await context.close();
  });

  test('forms from elsewhere or without the session\'s token are refused, and guessing is slowed', async () => {
    const { context, page } = await newPage();
    await signIn(page);
    const [cookie] = await context.cookies();
    const session = `${cookie.name}=${cookie.value}`;
    const signOut = await fetch(`${server.url}/console/sign-out`, {
      method: 'POST', redirect: 'manual',
      headers: { cookie: session, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'csrf=guessed',
    });
    assert.equal(signOut.status, 403, 'a sign-out without the CSRF token');
    const crossSite = await fetch(`${server.url}/console/sign-in`, {
      method: 'POST', redirect: 'manual',
      headers: { origin: 'https://evil.example', 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(owner).toString(),
    });
    assert.equal(crossSite.status, 403, 'a sign-in form posted from another site');
    await page.goto(`${server.url}/console`);
    await page.getByRole('link', { name: 'Kohvik' }).waitFor();

    let last;
    for (let attempt = 0; attempt < 12 && last?.status !== 429; attempt++) {
      last = await fetch(`${server.url}/console/sign-in`, {
        method: 'POST', redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ email: owner.email, password: `guess ${attempt}` }).toString(),
      });
    }
    assert.equal(last.status, 429);
    assert.ok(Number(last.headers.get('retry-after')) >= 1);
    await context.close();
  });
});
