/*
 * Soovita loader: the script tag site owners paste. It decides whether this visitor sees a
 * survey before a single byte of wasm is fetched, and only then loads the card.
 * Kept tiny (budget 1.5 KB gzip, tests/size.test.mjs): every page view pays for it.
 * The server replaces __SOOVITA_GLUE__ and __SOOVITA_WASM__ with content-hashed paths.
 */
(function (document, window) {
  var script = document.currentScript;
  if (!script || !window.fetch) return;
  var site = script.getAttribute('data-site');
  var assetBase = new URL(script.src).origin;
  var api = script.getAttribute('data-api') || assetBase;
  var key = 'soovita:' + site;
  var state = {};
  var now = Date.now();
  var navigator = window.navigator;
  // localStorage throws where storage is disabled; the visitor is then simply never remembered.
  try {
    state = JSON.parse(localStorage.getItem(key)) || {};
  } catch (e) {}
  function save() {
    try {
      localStorage.setItem(key, JSON.stringify(state));
    } catch (e) {}
  }

  // Answers not yet acknowledged, by response id: [url, body]. Each body carries every answer
  // so far, so only the newest per response is kept. The loader delivers them, not the card:
  // after answering, the visitor is in the cooldown and the card is never loaded again.
  var OUTBOX = 'soovita:outbox';
  function outbox(change) {
    var box = {};
    try {
      box = JSON.parse(localStorage.getItem(OUTBOX)) || {};
      if (change) {
        change(box);
        localStorage.setItem(OUTBOX, JSON.stringify(box));
      }
    } catch (e) {}
    return box;
  }
  // Posts until the server has it: network errors, 429 and 5xx are retried with exponential
  // backoff and jitter (after Retry-After when given); any other 4xx is dropped, since sending
  // the same body again cannot fix it. The response id makes every repeat harmless.
  function queue(id, url, body) {
    outbox(function (box) {
      box[id] = [url, body];
    });
  }
  function deliver(id, url, body, attempt) {
    queue(id, url, body);
    fetch(url, { method: 'POST', body: body, keepalive: true })
      .then(function (response) {
        var status = response.status;
        if (status >= 500 || status == 429) throw response.headers.get('retry-after');
        outbox(function (box) {
          if (box[id] && box[id][1] == body) delete box[id];
        });
        if (status >= 300) {
          response.text().then(function (text) {
            console.warn('soovita: answer refused and dropped:', text);
          });
        }
      })
      .catch(function (retryAfter) {
        attempt = attempt || 0;
        var delay = +retryAfter > 0 ? retryAfter * 1e3 : 1e3 * Math.pow(2, Math.min(attempt, 6)) * (0.5 + Math.random());
        setTimeout(function () {
          var pending = outbox()[id];
          if (pending) deliver(id, pending[0], pending[1], attempt + 1);
        }, delay);
      });
  }
  var pending = outbox();
  for (var id in pending) deliver(id, pending[id][0], pending[id][1]);
  // A closing page may not finish a fetch; a beacon goes out regardless (text/plain, so no
  // preflight). What is still in the outbox is beaconed too; it stays there until a later page
  // gets a 2xx for it.
  function beacon(id, url, body) {
    queue(id, url, body);
    navigator.sendBeacon(url, body);
  }
  window.addEventListener('pagehide', function () {
    var box = outbox();
    for (var id in box) navigator.sendBeacon(box[id][0], box[id][1]);
  });

  if (state.next > now) return;

  // The server picks the first language it has: the site's data-lang, the page's, the visitor's.
  var languages = [script.getAttribute('data-lang'), document.documentElement.lang]
    .concat(navigator.languages || [navigator.language])
    .filter(Boolean)
    .join(',');
  fetch(api + '/v1/sites/' + site + '/survey?lang=' + encodeURIComponent(languages))
    .then(function (response) {
      if (!response.ok) throw new Error('survey configuration answered ' + response.status);
      return response.json();
    })
    .then(function (config) {
      if (config.honor_do_not_track && (navigator.globalPrivacyControl || navigator.doNotTrack == '1')) return;
      // A sticky bucket: reloading the page does not give the visitor another draw.
      if (state.bucket == null) state.bucket = Math.floor(Math.random() * 100);
      if (state.bucket >= config.sample_percent) return save();
      state.next = now + config.cooldown_days * 864e5;
      save();
      return import(assetBase + '__SOOVITA_GLUE__').then(function (glue) {
        return glue.default({ module_or_path: assetBase + '__SOOVITA_WASM__' }).then(function () {
          glue.mount(config, api, deliver, beacon);
        });
      });
    })
    .catch(function (error) {
      console.warn('soovita: no survey shown:', error);
    });
})(document, window);
