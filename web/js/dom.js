// Small DOM helpers shared by the page's modules: element creation, the screen reader's announcements, errors.

export const $ = (id) => document.getElementById(id);

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// A real <button> (reachable by keyboard), with an accessible name when its text alone would not say enough.
export function button(text, onClick, { label, className, pressed } = {}) {
  const node = el("button", className, text);
  node.type = "button";
  if (label) node.setAttribute("aria-label", label);
  if (pressed !== undefined) node.setAttribute("aria-pressed", String(pressed));
  node.addEventListener("click", onClick);
  return node;
}

// Polite announcements for screen readers (new chat lines, document states): one live region, a line each,
// trimmed so the region never grows without bound.
export function announce(text) {
  const region = $("announcer");
  if (!region) return;
  region.append(el("p", "", text));
  while (region.childElementCount > 20) region.firstElementChild.remove();
}

// News of a document someone else changed (removed, replaced by a new version), shown as well as announced: an
// outside tester saw documents vanish, or change, with no visible word. The last NEWS_KEPT stay until dismissed.
const NEWS_KEPT = 3;
export function tell(text) {
  announce(text);
  const list = $("doc-news");
  if (!list) return;
  const item = el("li");
  item.append(el("span", "", text), button("Dismiss", () => item.remove(), { label: `Dismiss: ${text}` }));
  list.append(item);
  while (list.childElementCount > NEWS_KEPT) list.firstElementChild.remove();
}

// An error stays until the person dismisses it (no timer takes it away before it is read); the same message
// again moves to the end instead of being listed twice. `code`: the refusal's (an error whose cause is over
// may be cleared by it); `kept`: it holds text the person typed, so only they dismiss it.
export function showError(message, { code, kept } = {}) {
  clearError(message);
  const item = el("li");
  item.dataset.message = message;
  if (code) item.dataset.code = code;
  if (kept) item.dataset.kept = "true";
  item.append(el("span", "", message), button("Dismiss", () => item.remove(), { label: `Dismiss: ${message}` }));
  $("errors").append(item);
  item.scrollIntoView({ block: "nearest" }); // the newest in view, where the list (or the sidebar) scrolls
}

// An error that is over (what failed worked when tried again) is not left on screen as if it still held.
export function clearError(message) {
  for (const old of [...$("errors").children]) if (old.dataset.message === message) old.remove();
}

// The colour that marks a person everywhere (chips, viewport boxes, notes); dark enough for white text (WCAG AA).
export function colourOf(user) {
  let hash = 0;
  for (const ch of user) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  return `hsl(${hash % 360} 70% 27%)`;
}

// `list`'s children made `rows`, in order, without taking out a row that stays (see showRows), focus kept.
export function placeRows(list, rows) {
  const wanted = new Set(rows);
  const focused = list.contains(document.activeElement) ? document.activeElement : null;
  for (const child of [...list.children]) if (!wanted.has(child)) child.remove();
  rows.forEach((row, i) => { if (list.children[i] !== row) list.insertBefore(row, list.children[i] || null); });
  if (focused && list.contains(focused) && document.activeElement !== focused) focused.focus({ preventScroll: true });
}
