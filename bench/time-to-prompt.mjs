// Time from the loader starting to the prompt being visible, in headless Chromium.
// A benchmark, not a test: it prints medians and asserts nothing.
//   node bench/time-to-prompt.mjs [runs]        (after scripts/build-widget and a server build)
import {
  createDatabase, embed, hostPage, launchBrowser, startHostPages, startServer,
} from '../tests/e2e/harness.mjs';

const runs = Number(process.argv[2] ?? 15);
const snippet = {};
const pages = await startHostPages({ '/': { get html() { return hostPage('<h1>Shop</h1>', { snippet: snippet.value }); } } });
const db = createDatabase();
const site = db.addSite({ origins: [pages.origin], cooldownDays: 0 });
const server = await startServer(db.database);
snippet.value = embed(server.url, site.site_id);
const browser = await launchBrowser();

// Records when the first radio of the card is in the DOM and has a box.
const watchForPrompt = () => {
  const check = () => {
    const radio = document.querySelector('soovita-widget')?.shadowRoot?.querySelector('[role=radio]');
    if (radio && radio.getBoundingClientRect().width > 0) window.__promptAt = performance.now();
    else requestAnimationFrame(check);
  };
  requestAnimationFrame(check);
};

const samples = { loaderToPrompt: [], navigationToPrompt: [] };
for (let run = 0; run < runs; run++) {
  // A fresh context each run: cold HTTP cache, like a first visit.
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.addInitScript(watchForPrompt);
  await page.goto(`${pages.origin}/`);
  await page.waitForFunction(() => window.__promptAt !== undefined);
  const { loaderStart, promptAt } = await page.evaluate(() => ({
    loaderStart: performance.getEntriesByType('resource').find((e) => e.name.endsWith('/widget.js')).startTime,
    promptAt: window.__promptAt,
  }));
  samples.loaderToPrompt.push(promptAt - loaderStart);
  samples.navigationToPrompt.push(promptAt);
  await context.close();
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};
console.log(`time to prompt, headless Chromium, cold cache, ${runs} runs (median):`);
console.log(`  loader request start -> prompt visible: ${median(samples.loaderToPrompt).toFixed(1)} ms`);
console.log(`  navigation start     -> prompt visible: ${median(samples.navigationToPrompt).toFixed(1)} ms`);

await browser.close();
server.stop();
pages.close();
db.remove();
