/** What `init` needs: the site id and the Soovita server's origin. */
export interface SoovitaOptions {
  /** The site id, as in the script tag's `data-site`. */
  site: string;
  /** The origin of your Soovita server, e.g. `https://feedback.example`. */
  api: string;
  /** The site's language, e.g. `et`; without it, `<html lang>` and then the browser's languages decide. */
  lang?: string;
}

/** Values of `soovita('attributes', …)`: names of 1–40 letters, digits or `_`; at most 20. */
export type SoovitaAttributes = Record<string, string | number | boolean>;

/** The same function the script tag installs as `window.soovita`. */
export interface Soovita {
  /** Shows the survey now, whatever its trigger, if this visitor may be asked. */
  (command: 'show'): void;
  /** Attributes sent with every answer, e.g. `{ plan: 'pro' }`. */
  (command: 'attributes', attributes: SoovitaAttributes): void;
  /** Removes the card and cancels a pending trigger for the rest of this page. */
  (command: 'destroy'): void;
}

/**
 * Decides, as the script tag does, whether this visitor sees the survey (sampling, cooldown,
 * fatigue, page rules, Do Not Track, the trigger), and only then fetches the card.
 * Call it once per page load; single-page-app navigations are followed on their own.
 */
export function init(options: SoovitaOptions): Soovita;
