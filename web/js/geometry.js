// Where pages sit on the landscape, in landscape units: a document's first page at its placement, each page
// fitted into a CELL x CELL square, left to right with PAGE_GAP between. A page not tiled yet takes the shape
// of the document's pages already known (the server tells a page's size only when it is tiled); before any
// is known, an A-series sheet in landscape, the commonest drawing.

export const CELL = 1000;
export const PAGE_GAP = 120;
export const ROW = CELL + 400; // what the server leaves between placements (domain/document_items.py LANDSCAPE_ROW)
const DEFAULT_ASPECT = Math.SQRT2; // width / height

export function fitCell(width, height) {
  const aspect = width > 0 && height > 0 ? width / height : DEFAULT_ASPECT;
  return aspect >= 1 ? { w: CELL, h: CELL / aspect } : { w: CELL * aspect, h: CELL };
}

// `finished`: Map(page -> {width, height}) of the pages tiled so far. -> [{x, y, w, h}] for pages 0..count-1.
export function pageRects(origin, count, finished, first = {}) {
  // Pages not tiled yet take a tiled page's shape, or the first page's as analysis measured it.
  const measured = first.width > 0 && first.height > 0 ? first : null;
  const known = [...finished.values()].find((p) => p.width > 0 && p.height > 0) || measured;
  const rects = [];
  for (let page = 0; page < count; page += 1) {
    const size = finished.get(page) || known || {};
    const { w, h } = fitCell(size.width, size.height);
    rects.push({ x: origin.x + page * (CELL + PAGE_GAP), y: origin.y, w, h });
  }
  return rects;
}

// `rows`: Map(document_id -> {rects}). The page under a landscape point, and the point's offset on it, or null.
export function pageAt(rows, point) {
  for (const [documentId, entry] of rows) {
    for (const [page, r] of entry.rects.entries()) {
      if (point.x >= r.x && point.x <= r.x + r.w && point.y >= r.y && point.y <= r.y + r.h) {
        return { document_id: documentId, page, dx: Math.round(point.x - r.x), dy: Math.round(point.y - r.y) };
      }
    }
  }
  return null;
}

// A document's whole row, all pages included (finished or not), with its label above.
export function rowBounds(origin, pageCount) {
  const pages = Math.max(1, pageCount);
  return { x: origin.x - PAGE_GAP, y: origin.y - 200, width: pages * (CELL + PAGE_GAP) + PAGE_GAP, height: ROW };
}

// Every row together, with room above for the top label; an empty landscape is a row of three cells.
export function extentOf(rows) {
  if (!rows.length) return { x: -PAGE_GAP, y: -300, width: 3 * (CELL + PAGE_GAP) + PAGE_GAP, height: ROW + 100 };
  const left = Math.min(...rows.map((r) => r.x));
  const top = Math.min(...rows.map((r) => r.y));
  const right = Math.max(...rows.map((r) => r.x + r.width));
  const bottom = Math.max(...rows.map((r) => r.y + r.height));
  return { x: left, y: top - 300, width: right - left, height: bottom - top + 300 };
}

// The Deep Zoom levels of a page to draw (its manifest entry: docs/protocol.md), or null when it does not say.
// The lowest is the first that holds the whole page in one tile: OpenSeadragon would otherwise fetch every
// smaller level first (a page seen from afar cost six requests, not one, and Fit all over a few hundred pages
// fired well over a thousand).
export function pageLevels(info) {
  if (!(info.width > 0 && info.height > 0 && info.tile_size > 0 && info.levels > 0 && info.format)) return null;
  const maxLevel = info.levels - 1;
  const across = Math.max(info.width, info.height) / info.tile_size;
  return { minLevel: Math.max(0, maxLevel - Math.max(0, Math.ceil(Math.log2(across)))), maxLevel };
}
