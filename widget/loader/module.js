/*
 * The npm package's entry: `init({ site, api, lang })` does what the script tag does. The card
 * ships in the package, so a bundler emits it as a chunk and an asset, which are still fetched
 * only when the visitor is eligible.
 */
export function init(options) {
  if (!options?.site || !options.api) throw new TypeError('soovita: init needs { site, api }');
  return start(options.site, options.api.replace(/\/$/, ''), options.lang, function () {
    return [fetch(new URL('./soovita_widget_bg.wasm', import.meta.url)), import('./soovita_widget.js')];
  });
}
