// Document labels when the landscape is zoomed far out. A label keeps its size on screen and stands above its
// document's row, so when rows come closer on screen than a label is tall (a long document makes the whole
// landscape wide, and "Fit all" then shows every row a few pixels high) labels would lie over one another and
// over the pages of the row above. A label that would cover a label shown before it (top to bottom, then left
// to right) or another document's pages is marked `crowded` (faded out, not hit by the mouse) until the view
// has room for it; the documents list names every document meanwhile, and zooming in brings the label back.

/* global OpenSeadragon */

const MARGIN_PX = 2; // labels closer than this count as touching

function overlaps(a, b) {
  return a.x < b.x + b.width + MARGIN_PX && b.x < a.x + a.width + MARGIN_PX &&
         a.y < b.y + b.height + MARGIN_PX && b.y < a.y + a.height + MARGIN_PX;
}

// Where a document's pages (or its card, before it has any) are, in landscape units.
function pagesArea(entry, card) {
  if (!entry.rects.length) return card;
  const right = Math.max(...entry.rects.map((r) => r.x + r.w));
  const bottom = Math.max(...entry.rects.map((r) => r.y + r.h));
  const left = Math.min(...entry.rects.map((r) => r.x));
  const top = Math.min(...entry.rects.map((r) => r.y));
  return new OpenSeadragon.Rect(left, top, right - left, bottom - top);
}

// `landscape`: its viewer, rows (document_id -> entry with label, origin, rects), labelPoint and cardRect.
export function declutterLabels(landscape) {
  const viewport = landscape.viewer.viewport;
  const entries = [...landscape.rows.values()].sort((a, b) => a.origin.y - b.origin.y || a.origin.x - b.origin.x);
  const pages = entries.map((entry) => ({
    entry, box: viewport.viewportToViewerElementRectangle(pagesArea(entry, landscape.cardRect(entry))),
  }));
  const shown = [];
  for (const entry of entries) {
    // Placed by its bottom-left corner (OpenSeadragon.Placement.BOTTOM_LEFT): computed here, not read back from
    // the page, so it does not lag the frame being drawn.
    const corner = viewport.pixelFromPoint(landscape.labelPoint(entry), true);
    const size = { width: entry.label.offsetWidth, height: entry.label.offsetHeight };
    const box = { x: corner.x, y: corner.y - size.height, ...size };
    const crowded = shown.some((other) => overlaps(other, box)) ||
                    pages.some((row) => row.entry !== entry && overlaps(row.box, box));
    entry.label.classList.toggle("crowded", crowded);
    if (!crowded) shown.push(box);
  }
}
