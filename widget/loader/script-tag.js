/*
 * The script tag's entry: what site owners paste reads its settings from data- attributes.
 * The card's files come from the server the script came from, which replaces
 * __SOOVITA_GLUE__ and __SOOVITA_WASM__ with content-hashed paths.
 */
var script = document.currentScript;
if (script) {
  var base = new URL(script.src).origin;
  start(script.dataset.site, script.dataset.api || base, script.dataset.lang, function () {
    return [fetch(base + '__SOOVITA_WASM__'), import(base + '__SOOVITA_GLUE__')];
  });
}
