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
