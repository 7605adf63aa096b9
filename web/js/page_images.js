// A document's pages as OpenSeadragon images on the landscape. A page is loaded from its manifest entry, and
// loaded again when the document's shown job changes (a new version or a reprocess made ready: the server
// removes the earlier job's tiles then, so a window kept the old drawing only until it zoomed somewhere new,
// and one view could mix revisions, as an outside tester saw), when its URLs changed after its tiles failed (an
// expired grant), or when the landscape retries it (an outage). The image shown before stays until its
// replacement has loaded, so a page never blinks out; while a new version is tiled, its pages replace the
// earlier version's as they finish.

/* global OpenSeadragon */

import { pageLevels } from "./geometry.js";

// `entry`: the landscape's row of a document: images (page -> TiledImage, or "loading" for a first load),
// urls and jobs (page -> what was asked for last), failed (pages whose tiles failed).
export function wanted(entry, info, job) {
  const page = info.page;
  return !entry.images.has(page) || entry.jobs.get(page) !== job ||
    (entry.failed.has(page) && entry.urls.get(page) !== info.dzi);
}

export function loadPage(landscape, entry, info, job) {
  const { page } = info;
  const r = entry.rects[page];
  entry.urls.set(page, info.dzi);
  entry.jobs.set(page, job);
  entry.failed.delete(page);
  if (!entry.images.has(page)) entry.images.set(page, "loading");
  const current = () => landscape.rows.get(entry.doc.document_id) === entry && entry.urls.get(page) === info.dzi &&
    entry.jobs.get(page) === job;
  landscape.viewer.addTiledImage({
    tileSource: deepZoom(info), x: r.x, y: r.y, width: r.w,
    success: (event) => {
      if (!current()) { landscape.viewer.world.removeItem(event.item); return; } // replaced or removed meanwhile
      const before = entry.images.get(page);
      if (before && before !== "loading") landscape.viewer.world.removeItem(before);
      entry.images.set(page, event.item);
      const box = entry.placeholders.get(page);
      if (box) landscape.dropPlaceholder(entry, page, box);
      landscape.fitIfUntouched();
      landscape.viewer.forceRedraw();
      landscape.dispatchEvent(new CustomEvent("page-shown", { detail: info }));
    },
    error: () => { // asked for again at the next manifest refresh; an image shown before stays meanwhile
      if (!current()) return;
      entry.jobs.delete(page);
      if (entry.images.get(page) === "loading") entry.images.delete(page);
    },
  });
}

// Pages the document no longer has (a new version with fewer): taken off the landscape.
export function dropPagesFrom(landscape, entry, count) {
  for (const [page, image] of [...entry.images]) {
    if (page < count) continue;
    if (image !== "loading") landscape.viewer.world.removeItem(image);
    for (const map of [entry.images, entry.urls, entry.jobs]) map.delete(page);
    entry.failed.delete(page);
  }
}

// A page's Deep Zoom source from its manifest entry, without reading its DZI (one request less a page), from
// the first level that holds the whole page in one tile (pageLevels).
function deepZoom(info) {
  const levels = pageLevels(info);
  if (!levels) return info.dzi;
  return new OpenSeadragon.DziTileSource({
    width: info.width, height: info.height, tileSize: info.tile_size, tileOverlap: 0,
    tilesUrl: info.dzi.replace(/\.dzi$/, "_files/"), fileFormat: info.format, ...levels,
  });
}
