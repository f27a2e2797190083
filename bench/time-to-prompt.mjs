// Time from the loader starting to the prompt being visible, the longest main-thread task and
// the layout shift while it appears, in headless Chromium. A benchmark, not a test: it prints
// medians and asserts nothing.
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

// Records when the first radio of the card is in the DOM and has a box, every long task (over
// 50 ms, the browser's own threshold) and every layout shift.
const watchForPrompt = () => {
  window.__longTasks = [];
  window.__layoutShift = 0;
  new PerformanceObserver((list) => window.__longTasks.push(...list.getEntries().map((e) => e.duration)))
    .observe({ type: 'longtask', buffered: true });
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) if (!entry.hadRecentInput) window.__layoutShift += entry.value;
  }).observe({ type: 'layout-shift', buffered: true });
  const check = () => {
    const radio = document.querySelector('soovita-widget')?.shadowRoot?.querySelector('[role=radio]');
    if (radio && radio.getBoundingClientRect().width > 0) window.__promptAt = performance.now();
    else requestAnimationFrame(check);
  };
  requestAnimationFrame(check);
};

const samples = { loaderToPrompt: [], navigationToPrompt: [], longestTask: [], layoutShift: [] };
let longTasks = 0;
for (let run = 0; run < runs; run++) {
  // A fresh context each run: cold HTTP cache, like a first visit.
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.addInitScript(watchForPrompt);
  await page.goto(`${pages.origin}/`);
  await page.waitForFunction(() => window.__promptAt !== undefined);
  // Shifts and tasks are reported a frame or two late.
  await page.waitForTimeout(300);
  const { loaderStart, promptAt, tasks, shift } = await page.evaluate(() => ({
    loaderStart: performance.getEntriesByType('resource').find((e) => e.name.endsWith('/widget.js')).startTime,
    promptAt: window.__promptAt,
    tasks: window.__longTasks,
    shift: window.__layoutShift,
  }));
  longTasks += tasks.length;
  samples.longestTask.push(Math.max(0, ...tasks));
  samples.layoutShift.push(shift);
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
console.log(`  long tasks (> 50 ms) in all runs: ${longTasks}; longest per run: median ${median(samples.longestTask).toFixed(0)} ms, worst ${Math.max(...samples.longestTask).toFixed(0)} ms`);
console.log(`  layout shift (CLS) while the card appears: median ${median(samples.layoutShift)}, worst ${Math.max(...samples.layoutShift)}`);

await browser.close();
server.stop();
pages.close();
db.remove();
