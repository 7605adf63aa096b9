// A document's pages as OpenSeadragon images on the landscape. A page is loaded from its manifest entry, and
// loaded again when the document's shown job changes (a new version or a reprocess made ready: the server
// removes the earlier job's tiles then, so a window kept the old drawing only until it zoomed somewhere new,
// and one view could mix revisions, as an outside tester saw), when its URLs changed after its tiles failed (an
// expired grant), or when the landscape retries it (an outage). The image shown before stays, drawn beneath,
// until its replacement's tiles for the view are drawn, so a page never blinks out; while a new version is tiled,
// its pages replace the earlier version's as they finish.

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
      entry.images.set(page, event.item);
      if (before && before !== "loading") keepBeneath(landscape, entry, page, before, event.item);
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

// Its DZI opened is not its tiles drawn: removing the earlier image then left the page blank for as long as
// the tiles took (seconds on a busy machine, or a slow network). The new image is drawn above the old one, which
// goes once the new one has every tile the view needs; a newer replacement takes over those still beneath. Out of
// view nobody sees a blink, and an image beneath would ask for its tiles (perhaps removed: a new version's)
// when it comes into view: it goes at once.
function keepBeneath(landscape, entry, page, before, after) {
  entry.beneath.set(page, [...entry.beneath.get(page) || [], before]);
  if (!inView(landscape.viewer, after)) {
    dropBeneath(landscape, entry, page);
    return;
  }
  after.whenFullyLoaded(() => {
    if (entry.images.get(page) !== after) return; // replaced or dropped meanwhile
    dropBeneath(landscape, entry, page);
    landscape.viewer.forceRedraw();
  });
}

function inView(viewer, image) {
  const view = viewer.viewport.getBounds(true);
  const b = image.getBounds(true);
  return b.x < view.x + view.width && view.x < b.x + b.width && b.y < view.y + view.height && view.y < b.y + b.height;
}

export function dropBeneath(landscape, entry, page) {
  for (const image of entry.beneath.get(page) || []) landscape.viewer.world.removeItem(image);
  entry.beneath.delete(page);
}

// Pages the document no longer has (a new version with fewer): taken off the landscape.
export function dropPagesFrom(landscape, entry, count) {
  for (const [page, image] of [...entry.images]) {
    if (page < count) continue;
    if (image !== "loading") landscape.viewer.world.removeItem(image);
    dropBeneath(landscape, entry, page);
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
