// What the landscape writes on and around a document: its label (name and state), the card that stands where
// its pages will be while it is analysed or when it failed, and a page's placeholder. No "1 of 1 pages": a
// one-page document says "processing", a placeholder "The page".

import { el } from "./dom.js";

export function labelText(doc) {
  const total = doc.page_count || 0;
  let status = "";
  if (doc.status === "failed") status = " · could not be processed";
  else if (doc.status === "analysing") status = " · analysing";
  else if (doc.status === "tiling") status = total > 1 ? ` · ${doc.pages_done || 0} of ${total} pages` : " · processing";
  const incomplete = incompleteText(doc);
  return `${doc.name}${status}${incomplete ? ` · ${incomplete}` : ""}`;
}

// Pages MuPDF could read only in part (their manifest entries' `damage`): tiled as far as they were read, which
// may be nothing at all, so a damaged sheet must not pass for an empty one. "" when every page read whole.
export function incompleteText(doc) {
  const damaged = [...doc.pages || [], ...doc.shownBefore || []].filter((p) => p.damage).map((p) => p.page + 1)
    .sort((a, b) => a - b);
  if (!damaged.length) return "";
  const count = damaged.length;
  const which = count === 1 ? `page ${damaged[0]}` : count === doc.page_count ? `all ${count} pages` :
    `pages ${damaged.slice(0, count > 4 ? 3 : -1).join(", ")} and ${count > 4 ? `${count - 3} more` : damaged.at(-1)}`;
  return `${which} may be incomplete: the file is damaged there`;
}

// The earlier job's pages still on screen while a new version (or a reprocess) is tiled: those its own finished
// pages have not replaced yet, within its page count (page_images.js keeps each until its replacement loads).
// An outside tester saw a damaged page's warning vanish when a new version started, the damaged page still shown.
export function shownBefore(earlier, current, pageCount) {
  if (!earlier) return [];
  const listed = new Set(current.map((p) => p.page));
  return earlier.pages.filter((p) => !listed.has(p.page) && (pageCount == null || p.page < pageCount));
}

// "analysing" until the page count is known, unless an earlier version's pages are on screen (`shown`: they stay
// until the new version's replace them; the label says it is analysing); "failed" (with the reason, and a retry
// for those allowed to) when nothing of the document can be shown; otherwise no card.
export function cardState(doc, pages, shown = 0) {
  if (doc.status === "analysing") return shown ? null : "analysing";
  return doc.status === "failed" && pages === 0 ? "failed" : null;
}

export function fillCard(body, doc, state, onRetry) {
  if (state === "analysing") {
    body.replaceChildren(el("span", "spinner"), el("span", "", "Analysing: its pages appear here as they are ready"));
    return;
  }
  body.replaceChildren(el("strong", "", "Could not be processed"), el("span", "reason", doc.reason || doc.reason_code || ""));
  if (!doc.canRetry) return;
  const retry = el("button", "retry", "Retry");
  retry.type = "button";
  retry.setAttribute("aria-label", `Retry ${doc.name}`);
  // The canvas's own tracker would take the press for a drag: the button keeps it.
  for (const type of ["pointerdown", "mousedown", "touchstart"]) retry.addEventListener(type, (e) => e.stopPropagation());
  retry.addEventListener("click", () => onRetry(doc.document_id));
  body.append(retry);
}

export function newPlaceholder(documentId) {
  const box = el("div", "page-placeholder");
  box.append(el("span", "", ""));
  box.firstChild.append(el("b"), el("small"));
  box.dataset.doc = documentId;
  return box;
}

export function fillPlaceholder(box, page, count, doc) {
  const total = Math.max(count, doc.page_count || 0); // a failed document shows up to its last page tiled
  box.firstChild.firstChild.textContent = total > 1 ? `Page ${page + 1} of ${total}` : "The page";
  box.firstChild.lastChild.textContent = { tiling: "being prepared", failed: "not processed" }[doc.status] || "";
  box.dataset.page = page;
}
