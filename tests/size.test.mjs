// Size budgets: the loader is paid for on every page view, the card on every display.
// The figures are documented in README.md; raise a budget only with a reason in the commit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { resolve } from 'node:path';

const dist = resolve(import.meta.dirname, '../dist/widget');
const gzipped = (name) => gzipSync(readFileSync(`${dist}/${name}`), { level: 9 }).length;

const LOADER_BUDGET = 1500;
// The loyalty flow (six steps, every text from the server) on a nightly std built for size,
// its configuration read without serde (README "Figures").
const CARD_BUDGET = 90_000;

// Measured as served: the server writes each file's hashed name (10 hex digits of its SHA-256)
// where the loader has a marker.
const served = (name) => `/assets/${createHash('sha256').update(readFileSync(`${dist}/${name}`)).digest('hex').slice(0, 10)}`;

test(`the loader stays within ${LOADER_BUDGET} bytes gzipped`, () => {
  const built = readFileSync(`${dist}/loader.js`, 'utf8');
  assert.ok(built.includes('__SOOVITA_GLUE__') && built.includes('__SOOVITA_WASM__'), 'the loader must carry both markers');
  const loader = built
    .replace('__SOOVITA_GLUE__', served('soovita_widget.js') + '.js')
    .replace('__SOOVITA_WASM__', served('soovita_widget_bg.wasm') + '.wasm');
  const size = gzipSync(loader, { level: 9 }).length;
  assert.ok(size <= LOADER_BUDGET, `loader.js is ${size} bytes gzipped`);
});

test(`the card (wasm and glue) stays within ${CARD_BUDGET} bytes gzipped`, () => {
  const size = gzipped('soovita_widget_bg.wasm') + gzipped('soovita_widget.js');
  assert.ok(size <= CARD_BUDGET, `wasm and glue are ${size} bytes gzipped`);
});
