// Escaping for the few places where text becomes HTML: ECharts tooltips render their formatter's
// string as HTML, so every name or value from the API goes through escapeHtml first. Plain
// JavaScript (typed by escape.d.ts) so that `node --test web/test` checks it without a build.

const ENTITIES = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** @param {unknown} value */
export function escapeHtml(value) {
  return String(value).replace(/[&<>"']/g, (c) => ENTITIES[/** @type {keyof typeof ENTITIES} */ (c)]);
}
