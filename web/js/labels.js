// Document labels when the landscape is zoomed far out. A label keeps its size on screen and stands above its
// document's row, so when rows come closer on screen than a label is tall (a long document makes the whole
// landscape wide, and "Fit all" then shows every row a few pixels high) labels would lie over one another and
// over the pages of the row above. A label that would cover a label shown before it (top to bottom, then left
// to right) or another document's pages is marked `crowded` (faded out, not hit by the mouse) until the view
// has room for it; the documents list names every document meanwhile, and zooming in brings the label back.
// It runs on every frame of a zoom: only what is on screen is compared, through bands of the screen's height,
// and labels are measured only when their text changes (a read between class changes would force a layout).

/* global OpenSeadragon */

const MARGIN_PX = 2; // labels closer than this count as touching
const BAND_PX = 32; // the screen's height in bands: a box is compared with those in the bands it spans

function overlaps(a, b) {
  return a.x < b.x + b.width + MARGIN_PX && b.x < a.x + a.width + MARGIN_PX &&
         a.y < b.y + b.height + MARGIN_PX && b.y < a.y + a.height + MARGIN_PX;
}

// Where a document's pages (or its card, before it has any) are, in landscape units; kept until its pages change.
function pagesArea(entry, card) {
  if (!entry.rects.length) return card;
  if (entry.area?.of !== entry.rects) {
    const left = Math.min(...entry.rects.map((r) => r.x)), top = Math.min(...entry.rects.map((r) => r.y));
    const right = Math.max(...entry.rects.map((r) => r.x + r.w)), bottom = Math.max(...entry.rects.map((r) => r.y + r.h));
    entry.area = { of: entry.rects, rect: new OpenSeadragon.Rect(left, top, right - left, bottom - top) };
  }
  return entry.area.rect;
}

class Bands {
  constructor(height) { this.bands = Array.from({ length: Math.max(1, Math.ceil(height / BAND_PX)) }, () => []); }

  span(box) {
    const last = this.bands.length - 1;
    const from = Math.min(last, Math.max(0, Math.floor((box.y - MARGIN_PX) / BAND_PX)));
    return [from, Math.min(last, Math.max(from, Math.floor((box.y + box.height + MARGIN_PX) / BAND_PX)))];
  }

  add(box) { const [a, b] = this.span(box); for (let i = a; i <= b; i += 1) this.bands[i].push(box); }

  hits(box, except) {
    const [a, b] = this.span(box);
    for (let i = a; i <= b; i += 1) if (this.bands[i].some((o) => o.doc !== except && overlaps(o, box))) return true;
    return false;
  }
}

// `landscape`: its viewer, rows (document_id -> entry with label, origin, rects), labelPoint and cardRect.
export function declutterLabels(landscape) {
  const viewport = landscape.viewer.viewport;
  const width = landscape.viewer.container.clientWidth, height = landscape.viewer.container.clientHeight;
  const screen = { x: 0, y: 0, width, height };
  const entries = [...landscape.rows.values()];
  const pages = new Bands(height), shown = new Bands(height);
  for (const entry of entries) {
    const box = viewport.viewportToViewerElementRectangle(pagesArea(entry, landscape.cardRect(entry)));
    if (overlaps(box, screen)) pages.add({ doc: entry, x: box.x, y: box.y, width: box.width, height: box.height });
  }
  // Reads first (positions, and sizes where a label's text changed), then the classes.
  const labels = [];
  for (const entry of entries) {
    if (entry.labelSize?.text !== entry.label.textContent) {
      entry.labelSize = { text: entry.label.textContent, width: entry.label.offsetWidth, height: entry.label.offsetHeight };
    }
    // Placed by its bottom-left corner (OpenSeadragon.Placement.BOTTOM_LEFT).
    const corner = viewport.pixelFromPoint(landscape.labelPoint(entry), true);
    const box = { doc: entry, x: corner.x, y: corner.y - entry.labelSize.height, width: entry.labelSize.width,
                  height: entry.labelSize.height };
    if (overlaps(box, screen)) labels.push(box); // off screen: nothing to decide until it comes into view
  }
  labels.sort((a, b) => a.doc.origin.y - b.doc.origin.y || a.doc.origin.x - b.doc.origin.x);
  for (const box of labels) {
    const crowded = shown.hits(box, null) || pages.hits(box, box.doc);
    if (box.doc.label.classList.contains("crowded") !== crowded) box.doc.label.classList.toggle("crowded", crowded);
    if (!crowded) shown.add(box);
  }
}
