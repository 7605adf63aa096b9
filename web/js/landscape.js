// The landscape: every document's pages on one OpenSeadragon canvas, in landscape units shared by every client
// (so notes and viewports line up). Where a document sits is its placement item in the workspace's shared state
// (docs/protocol.md, "Documents in the workspace"): its first page's corner, each page fitted into a CELL x CELL
// square, left to right. Placements are assigned once by the server, so nothing moves when pages finish,
// documents arrive, or the page is reloaded.

/* global OpenSeadragon */

export const CELL = 1000;
const PAGE_GAP = 120;
const ROW = CELL + 400; // what the server leaves between placements (domain/document_items.py LANDSCAPE_ROW)

export function colourOf(user) {
  let hash = 0;
  for (const ch of user) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  return `hsl(${hash % 360} 75% 42%)`;
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export class Landscape extends EventTarget {
  constructor(element) {
    super();
    this.viewer = OpenSeadragon({
      element,
      prefixUrl: "vendor/openseadragon/images/",
      drawer: "canvas",
      crossOriginPolicy: "Anonymous",
      showNavigator: true,
      navigatorPosition: "BOTTOM_RIGHT",
      visibilityRatio: 0.2,
      minZoomImageRatio: 0.5,
      maxZoomPixelRatio: 2,
      animationTime: 0.8,
      springStiffness: 8,
      gestureSettingsMouse: { clickToZoom: false },
    });
    this.rows = new Map(); // document_id -> {origin, images: Map(page -> TiledImage), placeholders, label}
    this.presences = new Map(); // connection -> overlay element
    this.notes = new Map(); // item_id -> {element, x, y, dragging}
    this.userMoved = false;
    this.viewer.addHandler("canvas-drag", () => { this.userMoved = true; });
    this.viewer.addHandler("canvas-scroll", () => { this.userMoved = true; });
    this.viewer.addHandler("viewport-change", () => this.emitView());
    // Tile URLs carry a grant that expires (hours): when tiles stop loading, the page asks for a fresh manifest
    // and swaps in the pages whose URLs changed.
    this.viewer.addHandler("tile-load-failed", (event) => this.onTileFailed(event.tiledImage));
    this.lastFailureRefresh = new Map(); // document_id -> ms
  }

  onTileFailed(item) {
    for (const [documentId, entry] of this.rows) {
      for (const [page, image] of entry.images) {
        if (image !== item) continue;
        entry.failed.add(page);
        const last = this.lastFailureRefresh.get(documentId) || 0;
        if (Date.now() - last > 30000) {
          this.lastFailureRefresh.set(documentId, Date.now());
          this.dispatchEvent(new CustomEvent("tiles-failed", { detail: documentId }));
        }
        return;
      }
    }
  }

  // --- documents ---------------------------------------------------------------------------------------
  // `documents`: [{document_id, name, status, page_count, pages_done, pages, origin: {x, y}}], placed ones only.
  setDocuments(documents) {
    const shown = new Set();
    for (const doc of documents) {
      shown.add(doc.document_id);
      this.showDocument(doc);
    }
    for (const id of [...this.rows.keys()]) if (!shown.has(id)) this.removeDocument(id);
    this.fitIfUntouched();
  }

  showDocument(doc) {
    let entry = this.rows.get(doc.document_id);
    if (!entry) {
      entry = { origin: doc.origin, images: new Map(), urls: new Map(), failed: new Set(), placeholders: new Map(),
                label: el("div", "doc-label") };
      this.rows.set(doc.document_id, entry);
      this.viewer.addOverlay({ element: entry.label, location: this.labelPoint(entry),
                               placement: OpenSeadragon.Placement.BOTTOM_LEFT, checkResize: false });
    } else if (entry.origin.x !== doc.origin.x || entry.origin.y !== doc.origin.y) {
      this.move(entry, doc.origin);
    }
    const status = doc.status === "ready" ? "" : ` · ${doc.status}${doc.page_count ? ` ${doc.pages_done || 0}/${doc.page_count}` : ""}`;
    entry.label.textContent = `${doc.name}${status}`;
    entry.label.classList.toggle("failed", doc.status === "failed");
    entry.label.dataset.doc = doc.document_id;
    Object.assign(entry.label.dataset, { x: entry.origin.x, y: entry.origin.y });
    const finished = new Map((doc.pages || []).map((p) => [p.page, p]));
    const expected = doc.status === "failed" ? finished.size : Math.max(doc.page_count || 1, finished.size);
    for (let page = 0; page < expected; page += 1) {
      const info = finished.get(page);
      if (info && entry.failed.has(page) && entry.urls.get(page) !== info.dzi) this.replacePage(entry, info);
      else if (info && !entry.images.has(page)) this.addPage(entry, info);
      else if (!info && !entry.placeholders.has(page)) this.addPlaceholder(entry, page);
    }
  }

  removeDocument(documentId) {
    const entry = this.rows.get(documentId);
    if (!entry) return;
    for (const image of entry.images.values()) if (image !== "loading") this.viewer.world.removeItem(image);
    for (const box of entry.placeholders.values()) this.viewer.removeOverlay(box);
    this.viewer.removeOverlay(entry.label);
    this.rows.delete(documentId);
  }

  move(entry, origin) {
    entry.origin = origin;
    for (const [page, image] of entry.images) {
      if (image !== "loading") image.setPosition(new OpenSeadragon.Point(this.cell(entry, page).x, origin.y), true);
    }
    for (const [page, box] of entry.placeholders) {
      const { x, y } = this.cell(entry, page);
      this.viewer.updateOverlay(box, new OpenSeadragon.Rect(x, y, CELL, CELL * 0.707));
    }
    this.viewer.updateOverlay(entry.label, this.labelPoint(entry), OpenSeadragon.Placement.BOTTOM_LEFT);
  }

  labelPoint(entry) { return new OpenSeadragon.Point(entry.origin.x, entry.origin.y - 40); }

  cell(entry, page) { return { x: entry.origin.x + page * (CELL + PAGE_GAP), y: entry.origin.y }; }

  replacePage(entry, info) {
    const old = entry.images.get(info.page);
    if (old && old !== "loading") this.viewer.world.removeItem(old);
    entry.images.delete(info.page);
    entry.failed.delete(info.page);
    this.addPage(entry, info);
    this.viewer.forceRedraw();
  }

  addPage(entry, info) {
    const { x, y } = this.cell(entry, info.page);
    entry.urls.set(info.page, info.dzi);
    const width = info.width >= info.height ? CELL : (CELL * info.width) / info.height;
    entry.images.set(info.page, "loading");
    const placeholder = entry.placeholders.get(info.page);
    this.viewer.addTiledImage({
      tileSource: info.dzi, x, y, width,
      success: (event) => {
        entry.images.set(info.page, event.item);
        if (placeholder) { this.viewer.removeOverlay(placeholder); entry.placeholders.delete(info.page); }
        this.fitIfUntouched();
        this.dispatchEvent(new CustomEvent("page-shown", { detail: info }));
      },
      error: () => entry.images.delete(info.page), // retried at the next manifest refresh
    });
  }

  addPlaceholder(entry, page) {
    const { x, y } = this.cell(entry, page);
    const box = el("div", "page-placeholder", `page ${page + 1}…`);
    entry.placeholders.set(page, box);
    this.viewer.addOverlay({ element: box, location: new OpenSeadragon.Rect(x, y, CELL, CELL * 0.707) });
  }

  bounds(documentId) {
    const entry = this.rows.get(documentId);
    if (!entry) return null;
    const pages = Math.max(1, entry.images.size, entry.placeholders.size);
    return new OpenSeadragon.Rect(entry.origin.x - PAGE_GAP, entry.origin.y - 200,
                                  pages * (CELL + PAGE_GAP) + PAGE_GAP, ROW);
  }

  flyTo(documentId) {
    const rect = this.bounds(documentId);
    if (rect) { this.userMoved = true; this.viewer.viewport.fitBounds(rect); }
  }

  fitIfUntouched() {
    if (this.userMoved || !this.rows.size) return;
    const rects = [...this.rows.keys()].map((id) => this.bounds(id));
    const left = Math.min(...rects.map((r) => r.x));
    const top = Math.min(...rects.map((r) => r.y));
    const right = Math.max(...rects.map((r) => r.x + r.width));
    const bottom = Math.max(...rects.map((r) => r.y + r.height));
    this.viewer.viewport.fitBounds(new OpenSeadragon.Rect(left, top - 100, right - left, bottom - top + 100));
  }

  // --- where people look ------------------------------------------------------------------------------
  emitView() {
    const b = this.viewer.viewport.getBounds();
    this.dispatchEvent(new CustomEvent("view", { detail: { x: Math.round(b.x), y: Math.round(b.y),
                                                           w: Math.round(b.width), h: Math.round(b.height) } }));
  }

  showPresence(connection, user, viewport) {
    let box = this.presences.get(connection);
    if (!viewport) { if (box) { this.viewer.removeOverlay(box); this.presences.delete(connection); } return; }
    const rect = new OpenSeadragon.Rect(viewport.x, viewport.y, viewport.w, viewport.h);
    if (!box) {
      box = el("div", "viewport");
      box.append(el("span", "viewport-name", user));
      box.style.borderColor = box.firstChild.style.background = colourOf(user);
      box.dataset.user = user;
      this.presences.set(connection, box);
      this.viewer.addOverlay({ element: box, location: rect });
    } else {
      this.viewer.updateOverlay(box, rect);
    }
    Object.assign(box.dataset, { x: viewport.x, y: viewport.y, w: viewport.w, h: viewport.h });
  }

  // --- notes ------------------------------------------------------------------------------------------
  showNotes(items, canEdit, onMoved) {
    const live = new Set();
    for (const item of items) {
      if (item.kind !== "note") continue;
      live.add(item.item_id);
      const x = Number(item.fields.x) || 0;
      const y = Number(item.fields.y) || 0;
      let note = this.notes.get(item.item_id);
      if (!note) {
        note = { element: el("div", "note"), x, y, dragging: false };
        note.element.dataset.item = item.item_id;
        this.notes.set(item.item_id, note);
        this.viewer.addOverlay({ element: note.element, location: new OpenSeadragon.Point(x, y),
                                 placement: OpenSeadragon.Placement.TOP_LEFT, checkResize: false });
        if (canEdit) this.makeDraggable(item.item_id, note, onMoved);
      }
      note.element.textContent = item.fields.text || "";
      note.element.title = `${item.fields.by || ""}`;
      note.element.style.borderColor = colourOf(item.fields.by || "");
      if (!note.dragging && (note.x !== x || note.y !== y)) {
        Object.assign(note, { x, y });
        this.viewer.updateOverlay(note.element, new OpenSeadragon.Point(x, y), OpenSeadragon.Placement.TOP_LEFT);
      }
      Object.assign(note.element.dataset, { x: note.x, y: note.y });
    }
    for (const [id, note] of this.notes) {
      if (!live.has(id)) { this.viewer.removeOverlay(note.element); this.notes.delete(id); }
    }
  }

  makeDraggable(id, note, onMoved) {
    note.element.classList.add("draggable");
    new OpenSeadragon.MouseTracker({
      element: note.element,
      pressHandler: () => { note.dragging = true; },
      dragHandler: (event) => {
        const delta = this.viewer.viewport.deltaPointsFromPixels(event.delta);
        note.x += delta.x;
        note.y += delta.y;
        this.viewer.updateOverlay(note.element, new OpenSeadragon.Point(note.x, note.y),
                                  OpenSeadragon.Placement.TOP_LEFT);
      },
      dragEndHandler: () => {
        note.dragging = false;
        Object.assign(note, { x: Math.round(note.x), y: Math.round(note.y) });
        Object.assign(note.element.dataset, { x: note.x, y: note.y });
        onMoved(id, note.x, note.y);
      },
      releaseHandler: () => { note.dragging = false; },
    });
  }

  center() {
    const c = this.viewer.viewport.getCenter();
    return { x: Math.round(c.x), y: Math.round(c.y) };
  }
}
