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
  // localStorage throws where storage is disabled; the visitor is then simply never remembered.
  try {
    state = JSON.parse(localStorage.getItem(key)) || {};
  } catch (e) {}
  function save() {
    try {
      localStorage.setItem(key, JSON.stringify(state));
    } catch (e) {}
  }
  if (state.next > now) return;

  // The server picks the first language it has: the site's data-lang, the page's, the visitor's.
  var navigator = window.navigator;
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
          glue.mount(config, api);
        });
      });
    })
    .catch(function (error) {
      console.warn('soovita: no survey shown:', error);
    });
})(document, window);
