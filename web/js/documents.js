// Documents: items of the shared state (docs/protocol.md, "Documents in the workspace"), their pages from
// their manifests, and the files this browser is uploading. One list in the sidebar holds both: an upload is
// listed until its document item arrives, then the document takes its place (never both). The same states show
// on the landscape where the document sits (landscape.js), and changes are announced to screen readers.

import { $, announce, button, clearError, el, placeRows, showError } from "./dom.js";
import { Uploads } from "./uploads.js";

// Failures of the file itself fail the same way on a retry (docs/protocol.md): no Retry is offered for them; a
// corrected upload replaces the document. Others (a crash, the plan's month used up) may pass later.
const FILE_FAULTS = new Set(["empty", "unsupported_type", "unsupported_here", "password_protected", "corrupt",
  "too_many_pages", "image_too_large", "file_too_large", "no_pages"]);

export class Documents {
  constructor(ws) {
    this.ws = ws;
    this.manifests = new Map(); // document_id -> the document's manifest (its finished pages)
    this.live = new Map(); // document_id -> the latest live progress (pages done), between logged statuses
    this.refreshing = new Map(); // document_id -> "running" | "again"
    this.failures = new Map(); // document_id -> reads failed in a row (retried with backoff)
    this.uploads = new Uploads(this); // files this browser is uploading, listed until their documents arrive
    this.said = null; // document_id -> the status last announced (null until the first render)
    this.rows = new Map(); // document_id -> {parts, element}: a row of the same parts is written in place
  }

  list() {
    const docs = [];
    for (const item of this.ws.sync.items.values()) {
      if (item.kind !== "document") continue;
      const id = item.fields.document_id;
      const place = this.ws.sync.items.get(`place:${id}`);
      const manifest = this.manifests.get(id);
      const live = this.live.get(id);
      const doc = { ...item.fields, pages: manifest && manifest.job_id === item.fields.job_id ? manifest.pages : [] };
      if (live && live.job_id === doc.job_id && doc.status === "tiling") {
        doc.pages_done = Math.max(doc.pages_done || 0, live.pages_done || 0);
      }
      if (doc.status === "tiling") doc.pages_done = Math.max(doc.pages_done || 0, doc.pages.length);
      doc.canRetry = doc.status === "failed" && this.ws.isOwner() && !FILE_FAULTS.has(doc.reason_code);
      if (place) doc.origin = { x: Number(place.fields.x) || 0, y: Number(place.fields.y) || 0 };
      docs.push(doc);
    }
    return docs.sort((a, b) => (a.origin?.y ?? 0) - (b.origin?.y ?? 0) || a.document_id.localeCompare(b.document_id));
  }

  // Whether the document has finished pages this browser does not hold (a failed one keeps the pages it
  // finished). A manifest is read only then: every read is a REST request from every member online, so a
  // report that brings no new page reads nothing.
  lacksPages(doc) {
    if (!["tiling", "ready", "failed"].includes(doc.status)) return false;
    const manifest = this.manifests.get(doc.document_id);
    const held = manifest && manifest.job_id === doc.job_id ? manifest.pages.length : 0;
    return held < (doc.status === "ready" ? doc.page_count : doc.pages_done || 0);
  }

  // `joined`: a welcome was handled (a join, or a resume after a drop). The reports of pages finished while
  // this browser was away will not come again, so each document being tiled is read once to show them, and
  // each one analysing a new version once for the pages of the version it still shows.
  onItems(joined = false) {
    const docs = this.list();
    for (const doc of docs) {
      const away = joined && (doc.status === "tiling" || (doc.status === "analysing" && doc.job_id));
      if (away || this.lacksPages(doc)) this.refresh(doc.document_id);
    }
    for (const id of [...this.manifests.keys()]) if (!docs.some((d) => d.document_id === id)) this.manifests.delete(id);
    this.render();
  }

  async refresh(documentId) {
    if (this.refreshing.has(documentId)) { this.refreshing.set(documentId, "again"); return; }
    this.refreshing.set(documentId, "running");
    try {
      this.manifests.set(documentId, await this.ws.api.get(`/workspaces/${this.ws.id}/documents/${documentId}`));
      this.render();
      if (this.failures.delete(documentId) && this.failures.size === 0) clearError(this.readError); // all read now
    } catch (error) {
      if (error.status !== 404) this.retryLater(documentId, error); // 404: removed meanwhile
    } finally {
      // Asked again while reading: read again only if this read came before the pages that news was about.
      const again = this.refreshing.get(documentId) === "again";
      this.refreshing.delete(documentId);
      const doc = again && this.list().find((d) => d.document_id === documentId);
      if (doc && this.lacksPages(doc)) this.refresh(documentId);
    }
  }

  // A read that failed (the network, the server's 5xx or 429) is tried again while the document still has
  // pages this browser lacks: no other news may come for a document that is ready. Backoff from 2 s to 60 s;
  // the error shows once per run of failures.
  retryLater(documentId, error) {
    const tries = (this.failures.get(documentId) || 0) + 1;
    this.failures.set(documentId, tries);
    if (tries === 1) showError(this.readError = `Could not read a document: ${error.message}`);
    setTimeout(() => {
      const doc = this.list().find((d) => d.document_id === documentId);
      if (doc && this.lacksPages(doc)) this.refresh(documentId);
      else this.failures.delete(documentId);
    }, Math.min(60_000, 1000 * 2 ** tries));
  }

  onProgress({ subject, progress }) {
    const seen = this.live.get(subject);
    const higher = !seen || seen.job_id !== progress.job_id || (progress.pages_done || 0) >= (seen.pages_done || 0);
    if (progress.status === "tiling" && higher) this.live.set(subject, progress); // a late report never lowers it
    this.render();
    const doc = this.list().find((d) => d.document_id === subject);
    // A refused new version (`previous_kept`) names the job shown again: read it if it is not the one held.
    const manifest = this.manifests.get(subject);
    const kept = progress.previous_kept && (!manifest || manifest.job_id !== progress.job_id);
    if (kept || (doc && this.lacksPages(doc))) this.refresh(subject);
  }

  render() {
    const docs = this.list();
    this.ws.landscape.setDocuments(docs.filter((d) => d.origin));
    const listed = new Set(docs.map((d) => d.document_id));
    const busy = this.uploads.render(listed);
    const hint = $("drop-hint");
    hint.hidden = docs.length > 0 || busy || !this.ws.canWrite();
    $("doc-count").textContent = docs.length ? `(${docs.length})` : "";
    // Newest first; ties (whole seconds) by id, so that no later change (a placement arriving) reorders rows.
    this.showRows([...docs].sort((a, b) => b.created_at - a.created_at || a.document_id.localeCompare(b.document_id)));
    this.announceChanges(docs);
    this.ws.onDocuments();
  }

  // Renders come with every report and read, several a second while documents are tiled. A row taken out of the
  // list under a click loses it (pressed on it, released once it is gone, even if it is put back), and the
  // keyboard's focus with it. So a row is written in place while its parts stay the same (its status, its
  // progress), made again only when they change (a progress bar comes or goes, Retry, the button's state),
  // keeping the focus it had, and no row is taken out to make room for another.
  showRows(docs) {
    placeRows($("documents"), docs.map((doc) => this.rowFor(doc)));
    for (const id of [...this.rows.keys()]) if (!docs.some((d) => d.document_id === id)) this.rows.delete(id);
  }

  rowFor(doc) {
    const parts = JSON.stringify([doc.name, Boolean(doc.origin), Boolean(doc.canRetry), hasProgress(doc)]);
    const kept = this.rows.get(doc.document_id);
    if (kept && kept.parts === parts) {
      fillRow(kept.element, doc);
      return kept.element;
    }
    const element = this.row(doc);
    if (kept?.element.parentNode) {
      const focused = kept.element.contains(document.activeElement);
      kept.element.replaceWith(element);
      if (focused) element.querySelector(".doc-go").focus({ preventScroll: true });
    }
    this.rows.set(doc.document_id, { parts, element });
    return element;
  }

  row(doc) {
    const item = el("li");
    item.dataset.doc = doc.document_id;
    const go = button(doc.name, () => this.ws.landscape.flyTo(doc.document_id), { className: "doc-go" });
    go.disabled = !doc.origin;
    item.append(go, el("div", "status"));
    if (hasProgress(doc)) {
      const bar = el("progress");
      bar.setAttribute("aria-label", `${doc.name}: pages done`);
      item.append(bar);
    }
    if (doc.canRetry) {
      item.append(button("Retry", () => this.retry(doc.document_id), { className: "retry", label: `Retry ${doc.name}` }));
    }
    fillRow(item, doc);
    return item;
  }

  async retry(doc) {
    if (typeof doc === "string") doc = this.list().find((d) => d.document_id === doc);
    if (!doc) return;
    try {
      await this.ws.api.post(`/workspaces/${this.ws.id}/documents/${doc.document_id}/retry`);
      announce(`${doc.name}: processing again`);
    } catch (error) {
      showError(`${doc.name}: ${error.message}`);
    }
  }

  announceChanges(docs) {
    // What the join brings (the state, documents changed while away) is read, not announced: only later news.
    if (!this.ws.sync.welcomed) { this.said = null; return; }
    const first = this.said === null;
    const said = new Map();
    for (const doc of docs) {
      said.set(doc.document_id, doc.status);
      if (first || this.said.get(doc.document_id) === doc.status) continue;
      if (doc.reason_code && doc.status !== "failed") announce(`A new version of ${doc.name} was refused: ${doc.reason || doc.reason_code}. The earlier version is still shown`);
      else if (doc.status === "ready") announce(`${doc.name} is ready: ${pages(doc.page_count)}`);
      else if (doc.status === "failed") announce(`${doc.name} could not be processed: ${doc.reason || doc.reason_code}`);
      else if (doc.status === "tiling") announce(`${doc.name}: ${pages(doc.page_count)}, being prepared`);
      else announce(`${doc.name} arrived and is being analysed`);
    }
    this.said = said;
  }
}

function pages(count) {
  return count === 1 ? "1 page" : `${count || 0} pages`;
}

export function statusText(doc) {
  const total = doc.page_count || 0;
  if (doc.status === "failed") return `failed: ${doc.reason || doc.reason_code || "unknown reason"}`;
  // A ready (or still processing) document with a reason: its newest version was refused, the earlier one shows.
  const refused = doc.reason_code ? ` · new version refused: ${doc.reason || doc.reason_code}` : "";
  if (doc.status === "ready") return `ready · ${pages(total)}${refused}`;
  if (doc.status === "tiling") return (total > 1 ? `processing · ${doc.pages_done || 0} of ${total} pages` : "processing · 1 page") + refused;
  return "analysing";
}

function hasProgress(doc) { return doc.status === "tiling" && (doc.page_count || 0) > 1; }

// What changes in a row while its document is processed, written where it is (only what differs).
function fillRow(item, doc) {
  const text = statusText(doc);
  const label = `${doc.name}: ${text}. Show on the landscape`;
  if (item.dataset.status !== doc.status) item.dataset.status = doc.status;
  const go = item.querySelector(".doc-go");
  if (go.getAttribute("aria-label") !== label) go.setAttribute("aria-label", label);
  const status = item.querySelector(".status");
  if (status.textContent !== text) status.textContent = text;
  const bar = item.querySelector("progress");
  if (bar) {
    if (bar.max !== (doc.page_count || 0)) bar.max = doc.page_count || 0;
    if (bar.value !== (doc.pages_done || 0)) bar.value = doc.pages_done || 0;
  }
}
