// A page's own code, bundled with esbuild: `npx esbuild main.js --bundle --format=esm --outdir=out`
// and copy node_modules/soovita-widget/soovita_widget_bg.wasm into out/.
import { init } from 'soovita-widget';

const soovita = init({ site: document.body.dataset.site, api: document.body.dataset.api });
soovita('attributes', { plan: 'pro' });
