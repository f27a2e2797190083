// The npm package (dist/npm, built by scripts/build-widget with wasm-pack) consumed the way a
// bundler user would: imported by a page's own module, bundled with esbuild, served from the
// page's origin. The card and its wasm then come from the bundle, not from the server.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import {
  createDatabase, eventually, exportResponses, hostPage, launchBrowser, startHostPages, startServer, tearDown,
} from './harness.mjs';

const TYPES = { '.js': 'text/javascript', '.wasm': 'application/wasm' };

describe('the npm package in a bundled page', () => {
  let db, server, pages, browser, site, sampledOut, dir;
  const files = {};

  before(async () => {
    // The page's own code, as widget/npm/README.md shows it.
    dir = mkdtempSync(join(tmpdir(), 'soovita-npm-'));
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(resolve(import.meta.dirname, '../../dist/npm'), join(dir, 'node_modules/soovita-widget'));
    writeFileSync(join(dir, 'main.js'), [
      "import { init } from 'soovita-widget';",
      'const { site, api } = document.body.dataset;',
      'window.soovitaApi = init({ site, api });',
      "window.soovitaApi('attributes', { bundled: true });",
    ].join('\n'));
    const out = join(dir, 'out');
    await build({
      entryPoints: [join(dir, 'main.js')], bundle: true, splitting: true, format: 'esm', outdir: out,
      minify: true, logLevel: 'error',
    });
    // esbuild leaves `new URL('./soovita_widget_bg.wasm', import.meta.url)` alone; the wasm goes
    // next to the bundle, as the package README says.
    writeFileSync(join(out, 'soovita_widget_bg.wasm'), readFileSync(join(dir, 'node_modules/soovita-widget/soovita_widget_bg.wasm')));
    for (const name of readdirSync(out)) {
      files[`/out/${name}`] = {
        html: readFileSync(join(out, name)),
        headers: { 'content-type': TYPES[name.slice(name.lastIndexOf('.'))] },
      };
    }
    // The pages need their origin allowed before the site exists; their HTML is made per request.
    const page = (which) => ({
      get html() {
        return hostPage('<h1>Bundled shop</h1><script type="module" src="/out/main.js"></script>')
          .replace('<body>', `<body data-site="${which().site_id}" data-api="${server.url}">`);
      },
    });
    pages = await startHostPages({ ...files, '/': page(() => site), '/nobody': page(() => sampledOut) });
    db = createDatabase();
    site = db.addSite({ origins: [pages.origin] });
    sampledOut = db.addSite({ name: 'Nobody', origins: [pages.origin], samplePercent: 0 });
    server = await startServer(db.database);
    browser = await launchBrowser();
  });

  after(async () => {
    await tearDown({ browser, server, pages, db });
    rmSync(dir, { recursive: true, force: true });
  });

  test('init() from the bundle shows the card, loading the wasm from the bundle, and the answer arrives', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    const requests = [];
    page.on('request', (request) => requests.push(request.url()));
    await page.goto(`${pages.origin}/`);
    await page.locator('[role=radio]', { hasText: '7' }).click();
    const answer = await eventually(async () => (await exportResponses(server.url, site)).find((row) => row.score === 7));
    assert.deepEqual(answer.attributes, { bundled: 'true' });
    assert.ok(requests.includes(`${pages.origin}/out/soovita_widget_bg.wasm`), requests.join('\n'));
    assert.deepEqual(requests.filter((url) => url.startsWith(`${server.url}/assets/`)), []);
    await context.close();
  });

  test('a visitor outside the sample fetches neither the card chunk nor the wasm', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const requests = [];
    page.on('request', (request) => requests.push(request.url()));
    await page.goto(`${pages.origin}/nobody`, { waitUntil: 'networkidle' });
    assert.ok(requests.some((url) => url.includes('/survey?lang=')), 'the package never asked for the survey');
    const bundleFiles = requests.filter((url) => url.includes('/out/'));
    assert.deepEqual(bundleFiles, [`${pages.origin}/out/main.js`], 'only the page\'s own entry may load');
    assert.equal(await page.locator('soovita-widget').count(), 0);
    await context.close();
  });
});
