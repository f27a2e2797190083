// The loader points at content-hashed files that are served precompressed and cached forever.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { get } from 'node:http';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { createDatabase, startServer } from './harness.mjs';

let db, server;
before(async () => {
  db = createDatabase();
  server = await startServer(db.database);
});
after(() => {
  server?.stop();
  db?.remove();
});

/** A raw GET, so that no client decodes the body behind our back. */
function rawGet(url, headers = {}) {
  return new Promise((done, failed) => {
    get(url, { headers }, (response) => {
      const chunks = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('end', () => done({ status: response.statusCode, headers: response.headers, body: Buffer.concat(chunks) }));
    }).on('error', failed);
  });
}

test('the loader names hashed assets that are served precompressed and immutable', async () => {
  const loader = await rawGet(`${server.url}/widget.js`);
  assert.equal(loader.status, 200);
  assert.match(loader.headers['cache-control'], /max-age=300/);
  const paths = loader.body.toString().match(/\/assets\/[0-9a-f]{10}\.(js|wasm)/g);
  assert.equal(paths?.length, 2, 'the loader must name the glue and the wasm');
  const wasmPath = paths.find((path) => path.endsWith('.wasm'));

  const plain = await rawGet(server.url + wasmPath);
  assert.equal(plain.headers['content-type'], 'application/wasm');
  assert.equal(plain.headers['content-encoding'], undefined);
  assert.match(plain.headers['cache-control'], /immutable/);
  assert.deepEqual(plain.body.subarray(0, 4), Buffer.from([0, 0x61, 0x73, 0x6d]), 'wasm magic number');

  const brotli = await rawGet(server.url + wasmPath, { 'accept-encoding': 'gzip, br' });
  assert.equal(brotli.headers['content-encoding'], 'br');
  assert.ok(brotli.body.length < plain.body.length / 2);
  assert.deepEqual(brotliDecompressSync(brotli.body), plain.body);

  const gzip = await rawGet(server.url + wasmPath, { 'accept-encoding': 'gzip, br;q=0' });
  assert.equal(gzip.headers['content-encoding'], 'gzip');
  assert.deepEqual(gunzipSync(gzip.body), plain.body);
});

test('an unknown asset name is a JSON 404', async () => {
  const response = await rawGet(`${server.url}/assets/000000000000.wasm`);
  assert.equal(response.status, 404);
  assert.equal(JSON.parse(response.body).error.code, 'unknown_asset');
});
