// The landscape: every document's pages on one OpenSeadragon canvas, in landscape units shared by every client
// (so notes and viewports line up). Where a document sits is its placement item in the workspace's shared state
// (docs/protocol.md, "Documents in the workspace"): its first page's corner, each page fitted into a CELL x CELL
// square, left to right. Placements are assigned once by the server, so nothing moves when pages finish,
// documents arrive, or the page is reloaded. Until a page is tiled, a placeholder of its size stands in for it
// (geometry.js); a document still being analysed or one that failed shows a card where its pages will be.

/* global OpenSeadragon */

import { cardState, fillCard, fillPlaceholder, labelText, newPlaceholder } from "./cards.js";
import { el } from "./dom.js";
import { CELL, extentOf, pageAt, pageRects, rowBounds } from "./geometry.js";
import { onCanvasKey } from "./keys.js";
import { dropBeneath, dropPagesFrom, loadPage, wanted } from "./page_images.js";
import { TileRetry } from "./tile_retry.js";

export { CELL };

const BLANK = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=";

export class Landscape extends EventTarget {
  constructor(element) {
    super();
    this.element = element;
    this.viewer = OpenSeadragon({
      element,
      prefixUrl: "vendor/openseadragon/images/",
      drawer: "canvas",
      crossOriginPolicy: "Anonymous",
      showNavigationControl: false, // our own toolbar of real buttons (index.html), reachable by keyboard
      showNavigator: true,
      navigatorPosition: "BOTTOM_RIGHT",
      navigatorBackground: "#eef1f5",
      visibilityRatio: 0.2,
      minZoomImageRatio: 0.5,
      maxZoomPixelRatio: 2,
      animationTime: 0.8,
      springStiffness: 8,
      gestureSettingsMouse: { clickToZoom: false },
      preserveViewport: true, // the first page loaded does not reset the view (a view kept from before a reload)
    });
    const canvas = this.viewer.canvas;
    canvas.setAttribute("role", "application");
    canvas.setAttribute("aria-roledescription", "document landscape");
    canvas.setAttribute("aria-label", "Document landscape: arrow keys pan, + and - zoom, 0 fits everything");
    this.rows = new Map(); // document_id -> {doc, origin, rects, images: Map(page -> TiledImage), placeholders, label, card}
    this.userMoved = false;
    const moved = () => { this.userMoved = true; this.dispatchEvent(new Event("user-moved")); };
    this.viewer.addHandler("canvas-drag", moved);
    this.viewer.addHandler("canvas-scroll", moved);
    this.viewer.addHandler("canvas-key", (event) => onCanvasKey(event, moved)); // no turning the landscape
    this.viewer.addHandler("viewport-change", () => this.emitView());
    this.viewer.addHandler("resize", () => this.fitIfUntouched(true)); // a window resized still shows it all
    this.viewer.addHandler("animation-start", () => { this.element.dataset.animating = "true"; });
    this.viewer.addHandler("animation-finish", () => { delete this.element.dataset.animating; });
    // Tile URLs carry a grant that expires (hours): when tiles stop loading, a fresh manifest swaps in new URLs.
    this.tileRetry = new TileRetry(this); // tiles that failed to load are asked for again
    this.viewer.addHandler("tile-load-failed", (event) => this.tileRetry.failed(event.tiledImage));
    this.viewer.addHandler("tile-loaded", () => this.tileRetry.loaded());
    // The landscape's extent is every document's row, tiled or not: OpenSeadragon would take only its tiled
    // images (and keep a landscape of placeholders zoomed onto an empty unit square).
    this.viewer.world.addHandler("metrics-change", () => this.setHome());
    // OpenSeadragon draws (and moves overlays, and reports the view) only while its world holds an image: an
    // invisible pixel keeps it running for a landscape of placeholders, cards and other people's boxes.
    this.viewer.addTiledImage({ tileSource: { type: "image", url: BLANK }, x: 0, y: 0, width: 1, opacity: 0,
                                success: () => this.fitIfUntouched(true) });
    this.element.classList.add("empty");
  }

  // --- the toolbar's actions, and views given by others -----------------------------------------------
  zoomBy(factor) {
    this.userMoved = true;
    this.dispatchEvent(new Event("user-moved"));
    this.viewer.viewport.zoomBy(factor);
    this.viewer.viewport.applyConstraints();
  }

  fitAll() {
    this.userMoved = false;
    this.dispatchEvent(new Event("user-moved"));
    this.fitIfUntouched();
  }

  // A view in landscape units ({x, y, w, h}): someone's viewport, or the one kept from before a reload.
  showView(view, immediately = false) {
    this.userMoved = true;
    this.viewer.viewport.fitBounds(new OpenSeadragon.Rect(view.x, view.y, view.w, view.h), immediately);
  }

  center() {
    const c = this.viewer.viewport.getCenter();
    return { x: Math.round(c.x), y: Math.round(c.y) };
  }

  emitView() {
    const b = this.viewer.viewport.getBounds();
    const view = { x: Math.round(b.x), y: Math.round(b.y), w: Math.round(b.width), h: Math.round(b.height) };
    Object.assign(this.element.dataset, view); // where this page looks, for anyone reading the page
    this.dispatchEvent(new CustomEvent("view", { detail: view }));
  }

  // --- geometry other modules need: which page is at a point, and where a point on a page is now -------
  pageAt(point) { return pageAt(this.rows, point); }

  pagePoint(documentId, page, dx, dy) {
    const r = this.rows.get(documentId)?.rects[page];
    return r ? { x: r.x + dx, y: r.y + dy } : null;
  }

  documentAt(point) {
    for (const [documentId, entry] of this.rows) {
      const b = this.bounds(documentId);
      if (point.x >= b.x && point.x <= b.x + b.width && point.y >= b.y && point.y <= b.y + b.height) {
        return { document_id: documentId, name: entry.doc.name, page: this.pageAt(point)?.page };
      }
    }
    return null;
  }

  // How many documents lie wholly within `view` ({x, y, w, h}, landscape units).
  documentsWithin(view) {
    return [...this.rows.keys()].map((id) => this.bounds(id)).filter((b) => b.x >= view.x && b.y >= view.y &&
      b.x + b.width <= view.x + view.w && b.y + b.height <= view.y + view.h).length;
  }

  // --- documents ---------------------------------------------------------------------------------------
  // `documents`: [{document_id, name, status, page_count, pages_done, pages, origin: {x, y}, retry}], placed ones.
  setDocuments(documents) {
    const shown = new Set();
    for (const doc of documents) {
      shown.add(doc.document_id);
      this.showDocument(doc);
    }
    for (const id of [...this.rows.keys()]) if (!shown.has(id)) this.removeDocument(id);
    this.element.classList.toggle("empty", this.rows.size === 0); // no navigator over an empty landscape
    this.fitIfUntouched();
    this.dispatchEvent(new Event("laid-out"));
  }

  showDocument(doc) {
    let entry = this.rows.get(doc.document_id);
    if (!entry) {
      entry = { origin: doc.origin, images: new Map(), urls: new Map(), jobs: new Map(), failed: new Set(),
                beneath: new Map(), placeholders: new Map(), label: el("div", "doc-label"), card: null, rects: [] };
      this.rows.set(doc.document_id, entry);
      // Sized as it is drawn (checkResize): it is placed by its bottom edge, above the first page.
      this.viewer.addOverlay({ element: entry.label, location: this.labelPoint(entry),
                               placement: OpenSeadragon.Placement.BOTTOM_LEFT });
    }
    const moved = entry.origin.x !== doc.origin.x || entry.origin.y !== doc.origin.y;
    entry.doc = doc;
    entry.origin = doc.origin;
    const finished = new Map((doc.pages || []).map((p) => [p.page, p]));
    // Pages tile in parallel, so a failed document's may skip some (0 missing, 1 there): up to its last one.
    const listed = finished.size ? Math.max(...finished.keys()) + 1 : 0;
    const count = doc.status === "failed" ? listed : Math.max(doc.page_count || 0, listed);
    entry.rects = pageRects(doc.origin, count, finished, { width: doc.page_width, height: doc.page_height });
    this.showLabel(entry, doc);
    this.showCard(entry, doc, count);
    for (let page = 0; page < count; page += 1) { // an earlier version's page stays until this job's replaces it
      const info = finished.get(page);
      if (info && wanted(entry, info, doc.job_id)) loadPage(this, entry, info, doc.job_id);
      else if (!info && !entry.images.has(page)) this.showPlaceholder(entry, page, count, doc);
    }
    dropPagesFrom(this, entry, count);
    for (const [page, box] of [...entry.placeholders]) {
      if (page >= count || entry.images.get(page) instanceof Object) this.dropPlaceholder(entry, page, box);
    }
    if (moved) this.move(entry);
  }

  showLabel(entry, doc) {
    entry.label.textContent = labelText(doc);
    entry.label.classList.toggle("failed", doc.status === "failed");
    Object.assign(entry.label.dataset, { doc: doc.document_id, status: doc.status, x: doc.origin.x, y: doc.origin.y });
  }

  showCard(entry, doc, count) {
    const state = cardState(doc, count, entry.images.size);
    if (!state) {
      if (entry.card) { this.viewer.removeOverlay(entry.card); entry.card = null; }
      return;
    }
    if (!entry.card) {
      entry.card = el("div", "doc-card");
      entry.card.append(el("div", "doc-card-body"));
      this.viewer.addOverlay({ element: entry.card, location: this.cardRect(entry) });
    }
    Object.assign(entry.card.dataset, { status: state, doc: doc.document_id });
    fillCard(entry.card.firstChild, doc, state, (id) => this.dispatchEvent(new CustomEvent("retry", { detail: id })));
  }

  removeDocument(documentId) {
    const entry = this.rows.get(documentId);
    if (!entry) return;
    for (const image of entry.images.values()) if (image !== "loading") this.viewer.world.removeItem(image);
    for (const page of [...entry.beneath.keys()]) dropBeneath(this, entry, page);
    for (const box of entry.placeholders.values()) this.viewer.removeOverlay(box);
    if (entry.card) this.viewer.removeOverlay(entry.card);
    this.viewer.removeOverlay(entry.label);
    this.rows.delete(documentId);
    this.tileRetry.tell(); // its pages are no longer said to be failing
  }

  move(entry) {
    for (const [page, image] of entry.images) {
      const r = entry.rects[page];
      const all = [image, ...entry.beneath.get(page) || []].filter((i) => i !== "loading");
      if (r) for (const each of all) each.setPosition(new OpenSeadragon.Point(r.x, r.y), true);
    }
    for (const [page, box] of entry.placeholders) this.viewer.updateOverlay(box, this.rect(entry.rects[page]));
    if (entry.card) this.viewer.updateOverlay(entry.card, this.cardRect(entry));
    this.viewer.updateOverlay(entry.label, this.labelPoint(entry), OpenSeadragon.Placement.BOTTOM_LEFT);
    this.dispatchEvent(new Event("moved"));
  }

  // The card stands where the first page will be, scaled with the landscape like a page.
  cardRect(entry) { return new OpenSeadragon.Rect(entry.origin.x, entry.origin.y, CELL, CELL * 0.6); }

  labelPoint(entry) { return new OpenSeadragon.Point(entry.origin.x, entry.origin.y - 40); }

  rect(r) { return new OpenSeadragon.Rect(r.x, r.y, r.w, r.h); }

  // A page loaded afresh (its tiles failed): tile_retry.js.
  replacePage(entry, info) { loadPage(this, entry, info, entry.doc.job_id); }

  // A page not tiled yet: a box of its size (the document's known aspect), saying which page and how far.
  showPlaceholder(entry, page, count, doc) {
    let box = entry.placeholders.get(page);
    if (!box) {
      box = newPlaceholder(doc.document_id);
      entry.placeholders.set(page, box);
      this.viewer.addOverlay({ element: box, location: this.rect(entry.rects[page]) });
    } else {
      this.viewer.updateOverlay(box, this.rect(entry.rects[page]));
    }
    fillPlaceholder(box, page, count, doc);
  }

  dropPlaceholder(entry, page, box) {
    this.viewer.removeOverlay(box);
    entry.placeholders.delete(page);
  }

  // The whole row, all pages included (finished or not), with its label above.
  bounds(documentId) {
    const entry = this.rows.get(documentId);
    if (!entry) return null;
    const b = rowBounds(entry.origin, entry.rects.length);
    return new OpenSeadragon.Rect(b.x, b.y, b.width, b.height);
  }

  flyTo(documentId) {
    const rect = this.bounds(documentId);
    if (rect) { this.userMoved = true; this.viewer.viewport.fitBounds(rect); }
  }

  extent() {
    const e = extentOf([...this.rows.keys()].map((id) => this.bounds(id)));
    return new OpenSeadragon.Rect(e.x, e.y, e.width, e.height);
  }

  setHome() {
    // What the viewer's own metrics-change handler calls (setHomeBounds, its public name, is deprecated).
    this.viewer.viewport._setContentBounds(this.extent(), this.viewer.world.getContentFactor() || 1);
  }

  // The whole landscape, unless the person has moved the view; at once the first time (from nothing).
  fitIfUntouched(immediately = false) {
    this.setHome();
    if (this.userMoved) return;
    this.viewer.viewport.fitBounds(this.extent(), immediately || !this.fitted);
    this.fitted = this.rows.size > 0;
  }
}
