// What sits on top of the landscape besides pages: other people's viewports and the notes and tasks.
//
// A viewport is a box in landscape units; its name is drawn in a layer of its own over the canvas, kept inside
// the visible part of the box (or at the edge, pointing, when the box is off screen), so a name is never
// hidden; a box that holds the whole view is not drawn as a frame round the canvas, only named.
// Notes are cards on the landscape; zoomed out so far that a page is small on screen, they shrink to pins,
// so document labels (drawn above them) are never covered; pins on one spot fan out.

/* global OpenSeadragon */

import { colourOf, el } from "./dom.js";
import { CELL } from "./geometry.js";
import { declutterLabels } from "./labels.js";

const COMPACT_BELOW_PX = 420; // a page cell narrower than this on screen: notes as pins
const EDGE = 6;
const NEARLY = 0.85; // a view showing this much of the canvas each way counts as the same view
const LABEL_HEIGHT = 20;
const NEAR = 40; // px: the furthest a name goes from its box to find a free place
const PIN_STEP = 22; // a pin (16 px and its border) and a gap: pins on one spot fan out this far apart

// The part of a box (in pixels of the canvas) that is on the canvas; for a box off screen, the strip of the
// canvas's edge nearest to it, where its name points from.
function overlap(r, width, height) {
  const x = Math.min(Math.max(r.x, 0), width), y = Math.min(Math.max(r.y, 0), height);
  const right = Math.max(Math.min(r.x + r.width, width), 0), bottom = Math.max(Math.min(r.y + r.height, height), 0);
  return { x, y, width: Math.max(right - x, 0), height: Math.max(bottom - y, 0) };
}

// Where a person's name goes: at its box's top left corner if free, else the first free place along the box's
// top edge (inside, then just above it), then along its bottom edge, then beside it; failing those, the free
// place nearest to the box within NEAR pixels of it. A place is free when it covers no document label and no
// name placed before. Never further: a name does not drift past other labels away from its own box. null when
// nothing near is free (a crowded overview): the name is left out there (the people list still says it).
function nameSpot(box, size, width, height, taken) {
  const clamp = (left, top) => ({ left: Math.min(Math.max(left, EDGE), width - size.width - EDGE),
                                  top: Math.min(Math.max(top, EDGE), height - size.height - EDGE) });
  const free = (c) => !taken.some((t) => c.top < t.top + t.height && t.top < c.top + size.height &&
                                         c.left < t.left + t.width && t.left < c.left + size.width);
  const rows = [box.y, box.y - size.height - 2, box.y + box.height - size.height, box.y + box.height + 2];
  const steps = Math.max(0, Math.floor((box.width - size.width) / 16));
  for (const top of rows) {
    for (let step = 0; step <= steps; step += 1) {
      const spot = clamp(box.x + step * 16, top);
      if (free(spot)) return spot;
    }
  }
  for (const left of [box.x + box.width + 2, box.x - size.width - 2]) {
    for (const top of [box.y, box.y + box.height - size.height]) {
      const spot = clamp(left, top);
      if (free(spot)) return spot;
    }
  }
  const gap = (c) => Math.max(box.x - c.left - size.width, c.left - box.x - box.width, 0) +
                     Math.max(box.y - c.top - size.height, c.top - box.y - box.height, 0);
  const near = [];
  for (let left = box.x - size.width - NEAR; left <= box.x + box.width + NEAR; left += 8) {
    for (let top = box.y - size.height - NEAR; top <= box.y + box.height + NEAR; top += 6) {
      const spot = clamp(left, top);
      if (gap(spot) <= NEAR) near.push(spot);
    }
  }
  near.sort((a, b) => gap(a) - gap(b));
  return near.find(free) || null;
}

export class Overlays {
  constructor(landscape, labelLayer) {
    this.landscape = landscape;
    this.viewer = landscape.viewer;
    this.layer = labelLayer;
    this.presences = new Map(); // connection -> {box, label, user, rect}
    this.notes = new Map(); // item_id -> {element, x, y, dragging}
    this.viewer.addHandler("update-viewport", () => this.redraw());
    this.viewer.addHandler("resize", () => this.redraw());
    landscape.addEventListener("laid-out", () => this.redraw()); // documents came, went or grew: a still view too
  }

  redraw() {
    const cell = this.viewer.viewport.deltaPixelsFromPointsNoRotate(new OpenSeadragon.Point(CELL, 0), true).x;
    this.landscape.element.classList.toggle("compact-notes", cell < COMPACT_BELOW_PX);
    declutterLabels(this.landscape);
    this.placeLabels();
    this.spreadNotes();
  }

  // Notes pinned on (nearly) the same spot would hide one another: each one after the first there moves aside,
  // a pin to the right of the pins before it, a card below the cards before it, so every one can be read and
  // pressed.
  spreadNotes() {
    const compact = this.landscape.element.classList.contains("compact-notes");
    const placed = []; // where the notes moved so far sit on screen
    const ordered = [...this.notes.entries()].sort(([a], [b]) => a.localeCompare(b));
    for (const [, note] of ordered) {
      const at = this.viewer.viewport.pixelFromPointNoRotate(new OpenSeadragon.Point(note.x, note.y), true);
      const size = { w: compact ? PIN_STEP : note.element.offsetWidth, h: compact ? PIN_STEP : note.element.offsetHeight };
      const shift = { x: 0, y: 0 };
      const hit = () => placed.find((p) => at.x + shift.x < p.x + p.w && p.x < at.x + shift.x + size.w &&
                                         at.y + shift.y < p.y + p.h && p.y < at.y + shift.y + size.h);
      for (let other = hit(), tries = 0; other && tries < 50; other = hit(), tries += 1) {
        if (compact) shift.x = other.x + other.w - at.x;
        else shift.y = other.y + other.h + 4 - at.y;
      }
      placed.push({ x: at.x + shift.x, y: at.y + shift.y, ...size });
      note.element.style.marginLeft = shift.x ? `${shift.x}px` : "";
      note.element.style.marginTop = shift.y ? `${shift.y}px` : "";
    }
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
    const taken = [...this.viewer.container.querySelectorAll(".doc-label:not(.crowded)")].map((label) => {
      const r = label.getBoundingClientRect();
      return { left: r.left - origin.left, top: r.top - origin.top, width: r.width, height: r.height };
    });
    for (const mark of this.presences.values()) {
      const r = this.viewer.viewport.viewportToViewerElementRectangle(mark.rect);
      const visible = r.x < width && r.y < height && r.x + r.width > 0 && r.y + r.height > 0;
      // A view that (nearly) matches this one is not a frame round the canvas, nor two lines down it (another
      // window's shape cuts a little off one side): it is named at the corner instead.
      const shown = overlap(r, width, height);
      const encloses = shown.width >= width * NEARLY && shown.height >= height * NEARLY;
      mark.box.classList.toggle("encloses", encloses);
      let arrow = "";
      if (!visible) {
        arrow = `${r.y + r.height <= 0 ? "↑" : r.y >= height ? "↓" : ""}${r.x + r.width <= 0 ? "←" : r.x >= width ? "→" : ""}`;
      }
      const same = encloses && r.width <= width * 1.25 && r.height <= height * 1.25;
      const around = same ? "same view as you" : "sees more than this";
      mark.label.textContent = encloses ? `${mark.user} · ${around}` : `${arrow} ${mark.user}`.trim();
      mark.label.dataset.where = encloses ? "encloses" : visible ? "inside" : "edge";
      const size = { width: mark.label.offsetWidth || 60, height: LABEL_HEIGHT };
      const spot = encloses ? { x: 0, y: 0, width, height } : shown;
      const place = nameSpot(spot, size, width, height, taken);
      mark.label.style.visibility = place ? "" : "hidden";
      if (!place) { mark.label.dataset.where = "crowded"; continue; }
      taken.push({ ...place, ...size });
      mark.label.style.transform = `translate(${Math.round(place.left)}px, ${Math.round(place.top)}px)`;
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
    this.spreadNotes();
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
