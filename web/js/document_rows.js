// The sidebar's document rows, and what a member can do from one: fly to the document, Retry a failure that may
// pass later (owners), upload a New version of it (editors and owners: a corrected drawing replaces the one
// shown, instead of becoming a second document), and Remove it (owners, and the member who uploaded it, as the
// REST API allows). Remove asks first, in the row itself: it deletes the document for everyone, its tiles with
// it (its uploaded versions stay restorable by an administrator for the backup window, docs/protocol.md).

import { incompleteText } from "./cards.js";
import { announce, button, el, placeRows, showError } from "./dom.js";

export class DocumentRows {
  constructor(documents) {
    this.documents = documents;
    this.ws = documents.ws;
    this.rows = new Map(); // document_id -> {parts, element}: a row of the same parts is written in place
    this.confirming = null; // the document whose removal is being confirmed
  }

  // Renders come with every report and read, several a second while documents are tiled. A row taken out of the
  // list under a click loses it (pressed on it, released once it is gone, even if it is put back), and the
  // keyboard's focus with it. So a row is written in place while its parts stay the same (its status, its
  // progress), made again only when they change (a progress bar comes or goes, a button, the confirmation),
  // keeping the focus it had, and no row is taken out to make room for another.
  show(list, docs) {
    // The question goes with the document, or with the right to remove it (a member demoted meanwhile).
    if (this.confirming && !docs.some((d) => d.document_id === this.confirming && this.canRemove(d))) {
      this.confirming = null;
    }
    placeRows(list, docs.map((doc) => this.rowFor(doc)));
    for (const id of [...this.rows.keys()]) if (!docs.some((d) => d.document_id === id)) this.rows.delete(id);
  }

  rowFor(doc) {
    const confirming = this.confirming === doc.document_id;
    const parts = JSON.stringify([doc.name, Boolean(doc.origin), Boolean(doc.canRetry), hasProgress(doc),
                                  this.canReplace(), this.canRemove(doc), confirming]);
    const kept = this.rows.get(doc.document_id);
    if (kept && kept.parts === parts) {
      fillRow(kept.element, doc);
      return kept.element;
    }
    const element = this.row(doc, confirming);
    if (kept?.element.parentNode) {
      const focused = kept.element.contains(document.activeElement) ? document.activeElement.classList[0] : null;
      kept.element.replaceWith(element);
      // The focus stays on the same control where it still exists; a confirmation takes it (to Cancel), and
      // leaving one gives it back to Remove.
      if (focused) {
        const same = element.querySelector(`.${focused}`);
        (same || element.querySelector(confirming ? ".cancel" : ".remove") || element.querySelector(".doc-go"))
          .focus({ preventScroll: true });
      }
    }
    this.rows.set(doc.document_id, { parts, element });
    return element;
  }

  row(doc, confirming) {
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
    if (confirming) {
      item.append(this.confirmation(doc));
    } else {
      const actions = el("div", "doc-actions");
      if (doc.canRetry) {
        actions.append(button("Retry", () => this.retry(doc.document_id), { className: "retry", label: `Retry ${doc.name}` }));
      }
      if (this.canReplace()) {
        actions.append(button("New version", () => this.pickVersion(doc), { className: "new-version",
                                                                             label: `Upload a new version of ${doc.name}` }));
      }
      if (this.canRemove(doc)) {
        actions.append(button("Remove", () => this.confirm(doc.document_id), { className: "remove", label: `Remove ${doc.name}` }));
      }
      if (actions.childElementCount) item.append(actions);
    }
    fillRow(item, doc);
    return item;
  }

  confirmation(doc) {
    const box = el("div", "confirm-remove");
    box.setAttribute("role", "group");
    box.setAttribute("aria-label", `Remove ${doc.name}?`);
    box.append(el("p", "", "Remove it for everyone in the workspace? Its pages go from the landscape."),
               button("Remove", () => this.remove(doc), { className: "confirm", label: `Yes, remove ${doc.name}` }),
               button("Cancel", () => this.confirm(null), { className: "cancel", label: `Keep ${doc.name}` }));
    box.addEventListener("keydown", (event) => { if (event.key === "Escape") this.confirm(null); });
    return box;
  }

  canReplace() { return this.ws.canWrite(); }

  canRemove(doc) { return this.ws.canWrite() && (this.ws.isOwner() || doc.created_by === this.ws.me.user_id); }

  confirm(documentId) {
    this.confirming = documentId;
    this.documents.render();
  }

  async remove(doc) {
    this.confirming = null;
    // Said here, once, whether the answer or the item's deletion comes first (the list says others' removals).
    this.documents.removedHere.add(doc.document_id);
    try {
      await this.ws.api.request("DELETE", `/workspaces/${this.ws.id}/documents/${doc.document_id}`);
      announce(`${doc.name} was removed`);
    } catch (error) {
      // 404: someone removed it meanwhile; its item's deletion takes the row away.
      if (error.status === 404) announce(`${doc.name} was removed`);
      else {
        this.documents.removedHere.delete(doc.document_id);
        showError(`Could not remove ${doc.name}: ${error.message}`);
      }
    }
    this.documents.render();
  }

  // The file goes to this document as its next version (the document keeps its name). One hidden file input
  // serves every row: a picker closed without a file leaves nothing behind.
  pickVersion(doc) {
    if (!this.picker) {
      this.picker = Object.assign(el("input"), { type: "file", hidden: true });
      this.picker.addEventListener("change", () => {
        const file = this.picker.files[0];
        if (file && this.versionOf) this.documents.uploads.upload(file, this.versionOf.document_id, this.versionOf);
        this.picker.value = "";
      });
      document.body.append(this.picker);
    }
    this.versionOf = doc;
    this.picker.setAttribute("aria-label", `A new version of ${doc.name}`);
    this.picker.click();
  }

  async retry(documentId) {
    const doc = this.documents.list().find((d) => d.document_id === documentId);
    if (!doc) return;
    try {
      await this.ws.api.post(`/workspaces/${this.ws.id}/documents/${doc.document_id}/retry`);
      announce(`${doc.name}: processing again`);
    } catch (error) {
      showError(`${doc.name}: ${error.message}`);
    }
  }
}

export function pages(count) {
  return count === 1 ? "1 page" : `${count || 0} pages`;
}

export function statusText(doc) {
  const total = doc.page_count || 0;
  if (doc.status === "failed") return `failed: ${doc.reason || doc.reason_code || "unknown reason"}`;
  // A ready (or still processing) document with a reason: its newest version was refused, the earlier one shows.
  const incomplete = incompleteText(doc); // pages of the shown job read only in part
  const notes = (incomplete ? ` · ${incomplete}` : "") +
    (doc.reason_code ? ` · new version refused: ${doc.reason || doc.reason_code}` : "");
  if (doc.status === "ready") return `ready · ${pages(total)}${notes}`;
  if (doc.status === "tiling") return (total > 1 ? `processing · ${doc.pages_done || 0} of ${total} pages` : "processing · 1 page") + notes;
  return "analysing";
}

function hasProgress(doc) { return doc.status === "tiling" && (doc.page_count || 0) > 1; }

// What changes in a row while its document is processed, written where it is (only what differs).
function fillRow(item, doc) {
  const text = statusText(doc);
  const label = `${doc.name}: ${text.replace(/[.\s]+$/, "")}. Show on the landscape`; // a reason's own full stop once
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
