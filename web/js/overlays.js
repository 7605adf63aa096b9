// What sits on top of the landscape besides pages: other people's viewports and the notes and tasks.
//
// A viewport is a box in landscape units; its name is drawn in a layer of its own over the canvas, kept inside
// the visible part of the box (or at the edge, pointing, when the box is off screen), so a name is never
// hidden; a box that holds the whole view is not drawn as a frame round the canvas, only named.
// Notes are cards on the landscape; zoomed out so far that a page is small on screen, they shrink to pins,
// so document labels (drawn above them) are never covered.

/* global OpenSeadragon */

import { colourOf, el } from "./dom.js";
import { CELL } from "./geometry.js";

const COMPACT_BELOW_PX = 420; // a page cell narrower than this on screen: notes as pins
const EDGE = 6;

export class Overlays {
  constructor(landscape, labelLayer) {
    this.landscape = landscape;
    this.viewer = landscape.viewer;
    this.layer = labelLayer;
    this.presences = new Map(); // connection -> {box, label, user, rect}
    this.notes = new Map(); // item_id -> {element, x, y, dragging}
    this.viewer.addHandler("update-viewport", () => this.redraw());
    this.viewer.addHandler("resize", () => this.redraw());
  }

  redraw() {
    const cell = this.viewer.viewport.deltaPixelsFromPointsNoRotate(new OpenSeadragon.Point(CELL, 0), true).x;
    this.landscape.element.classList.toggle("compact-notes", cell < COMPACT_BELOW_PX);
    this.placeLabels();
  }

  // --- where people look ------------------------------------------------------------------------------
  showPresence(connection, user, viewport) {
    let mark = this.presences.get(connection);
    if (!viewport) {
      if (mark) { this.viewer.removeOverlay(mark.box); mark.label.remove(); this.presences.delete(connection); }
      return;
    }
    const rect = new OpenSeadragon.Rect(viewport.x, viewport.y, viewport.w, viewport.h);
    if (!mark) {
      const box = el("div", "viewport");
      const label = el("span", "viewport-name", user);
      box.style.borderColor = label.style.background = colourOf(user);
      box.dataset.user = label.dataset.user = user;
      mark = { box, label, user, rect };
      this.presences.set(connection, mark);
      this.viewer.addOverlay({ element: box, location: rect });
      this.layer.append(label);
    } else {
      mark.rect = rect;
      this.viewer.updateOverlay(mark.box, rect);
    }
    Object.assign(mark.box.dataset, { x: viewport.x, y: viewport.y, w: viewport.w, h: viewport.h });
    this.placeLabels();
  }

  placeLabels() {
    const width = this.viewer.container.clientWidth;
    const height = this.viewer.container.clientHeight;
    // Document labels are never covered: names go round them (and round each other).
    const origin = this.viewer.container.getBoundingClientRect();
    const taken = [...this.viewer.container.querySelectorAll(".doc-label")].map((label) => {
      const r = label.getBoundingClientRect();
      return { left: r.left - origin.left, top: r.top - origin.top, width: r.width, height: r.height };
    });
    for (const mark of this.presences.values()) {
      const r = this.viewer.viewport.viewportToViewerElementRectangle(mark.rect);
      const encloses = r.x <= 1 && r.y <= 1 && r.x + r.width >= width - 1 && r.y + r.height >= height - 1;
      const visible = r.x < width && r.y < height && r.x + r.width > 0 && r.y + r.height > 0;
      mark.box.classList.toggle("encloses", encloses);
      let arrow = "";
      if (!visible) {
        arrow = `${r.y + r.height <= 0 ? "↑" : r.y >= height ? "↓" : ""}${r.x + r.width <= 0 ? "←" : r.x >= width ? "→" : ""}`;
      }
      const same = encloses && r.width <= width * 1.15 && r.height <= height * 1.15;
      const around = same ? "same view as you" : "sees more than this";
      mark.label.textContent = encloses ? `${mark.user} · ${around}` : `${arrow} ${mark.user}`.trim();
      mark.label.dataset.where = encloses ? "encloses" : visible ? "inside" : "edge";
      const labelWidth = mark.label.offsetWidth || 60;
      let left = Math.min(Math.max(r.x, EDGE), width - labelWidth - EDGE);
      let top = Math.min(Math.max(r.y, EDGE), height - 20 - EDGE);
      const clash = (t) => top < t.top + (t.height || 20) && t.top < top + 20 && left < t.left + t.width && t.left < left + labelWidth;
      for (let tries = 0; tries < 40 && taken.some(clash); tries += 1) top += 10;
      taken.push({ left, top, width: labelWidth, height: 20 });
      mark.label.style.transform = `translate(${Math.round(left)}px, ${Math.round(top)}px)`;
    }
  }

  // --- notes and tasks -------------------------------------------------------------------------------
  // `notes`: [{item_id, kind, text, by, resolved, x, y}] with x, y where the note is now (pinned to its page).
  showNotes(notes, canEdit, onMoved) {
    const live = new Set();
    for (const item of notes) {
      live.add(item.item_id);
      let note = this.notes.get(item.item_id);
      if (!note) {
        note = { element: el("div", "note"), x: item.x, y: item.y, dragging: false, draggable: false };
        note.element.dataset.item = item.item_id;
        this.notes.set(item.item_id, note);
        this.viewer.addOverlay({ element: note.element, location: new OpenSeadragon.Point(item.x, item.y),
                                 placement: OpenSeadragon.Placement.TOP_LEFT, checkResize: false });
      }
      if (canEdit && !note.draggable) this.makeDraggable(item.item_id, note, onMoved);
      const mark = item.kind === "task" ? (item.resolved ? "☑ " : "☐ ") : "";
      note.element.replaceChildren(el("span", "note-text", `${mark}${item.text}`));
      note.element.title = `${item.kind === "task" ? "Task" : "Note"} by ${item.by || "someone"}: ${item.text}`;
      note.element.style.borderColor = colourOf(item.by || "");
      note.element.classList.toggle("resolved", Boolean(item.resolved));
      note.element.dataset.kind = item.kind;
      if (!note.dragging && (note.x !== item.x || note.y !== item.y)) {
        Object.assign(note, { x: item.x, y: item.y });
        this.viewer.updateOverlay(note.element, new OpenSeadragon.Point(item.x, item.y), OpenSeadragon.Placement.TOP_LEFT);
      }
      Object.assign(note.element.dataset, { x: note.x, y: note.y });
    }
    for (const [id, note] of this.notes) {
      if (!live.has(id)) { this.viewer.removeOverlay(note.element); this.notes.delete(id); }
    }
  }

  highlight(itemId) {
    for (const [id, note] of this.notes) note.element.classList.toggle("highlight", id === itemId);
  }

  makeDraggable(id, note, onMoved) {
    note.draggable = true;
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
}
