// Notes and tasks: items of the shared state (kinds `note` and `task`), listed in the sidebar, where each can be
// jumped to, edited, resolved (a task: done) or deleted, and shown on the landscape. A note is pinned to the
// document page under it (fields `doc`, `page`, `dx`, `dy`: its offset from the page's corner), so it moves
// with the document; `x`, `y` keep where it was when last written, for a note on no page or a page that is gone.

import { $, announce, button, el, showError } from "./dom.js";
import { withOutbox } from "./items.js";
import { tooLong } from "./refusals.js";

const KINDS = new Set(["note", "task"]);
const MAX_TEXT = 2000; // characters (code points) of a note's text: the server allows 16 KiB of fields
// Who edited or resolved an item: the server writes these (docs/protocol.md); an item from an earlier release
// may hold whatever a client wrote, so anything but a string is not shown.
const signer = (value) => (typeof value === "string" ? value : "");

export class Notes {
  constructor(ws) {
    this.ws = ws;
    this.rows = new Map(); // item_id -> {signature, element}
    this.editing = null; // {id, draft, base, kind}
    this.confirming = null; // the item whose deletion is being confirmed (a Delete removes it for everyone)
    $("note-form").onsubmit = (event) => { event.preventDefault(); this.create(); };
  }

  items() {
    const items = [];
    const { items: all, pending } = withOutbox(this.ws.sync.items, this.ws.sync.outbox, this.ws.me.user_id);
    for (const item of all.values()) {
      if (!KINDS.has(item.kind)) continue;
      const f = item.fields;
      const pinned = f.doc ? this.ws.landscape.pagePoint(f.doc, Number(f.page) || 0, Number(f.dx) || 0, Number(f.dy) || 0) : null;
      const at = pinned || { x: Number(f.x) || 0, y: Number(f.y) || 0 };
      items.push({ item_id: item.item_id, kind: item.kind, text: String(f.text ?? ""), by: f.by || "",
                   edited_by: signer(f.edited_by), resolved_by: signer(f.resolved_by), resolved: Boolean(f.resolved),
                   doc: f.doc, page: Number(f.page) || 0, created: Number(f.created_at) || 0,
                   pending: pending.has(item.item_id), version: item.version,
                   ...at });
    }
    return items.sort((a, b) => Number(a.resolved) - Number(b.resolved) || a.created - b.created ||
                                a.item_id.localeCompare(b.item_id));
  }

  render() {
    const canEdit = this.ws.canWrite();
    $("note-form").hidden = !canEdit;
    $("note-readonly").hidden = canEdit;
    const items = this.items();
    if (this.editing && !items.some((i) => i.item_id === this.editing.id)) this.lostWhileEditing();
    if (this.editing && !canEdit) {
      this.lostWhileEditing(this.ws.sync.closed ? "You are no longer a member of this workspace: your edit was not saved"
        : "You can only view this workspace now: your edit was not saved");
    }
    this.keepUnsent(canEdit);
    if (this.confirming && !items.some((i) => i.item_id === this.confirming)) this.confirming = null;
    this.ws.overlays.showNotes(items, canEdit, (id, x, y) => this.moved(id, x, y));
    const names = new Map(this.ws.documents.list().map((d) => [d.document_id, d.name]));
    const rows = items.map((item) => {
      const where = !item.doc ? "on the landscape"
        : names.has(item.doc) ? `${names.get(item.doc)}, page ${item.page + 1}` : "on a removed document";
      const editing = this.editing?.id === item.item_id;
      const signature = JSON.stringify([item, where, canEdit, editing, this.confirming === item.item_id]);
      const kept = this.rows.get(item.item_id);
      if (kept && kept.signature === signature && !editing) return kept.element;
      const element = editing ? this.editor(item) : this.row(item, where, canEdit);
      this.rows.set(item.item_id, { signature, element });
      return element;
    });
    for (const id of [...this.rows.keys()]) if (!items.some((i) => i.item_id === id)) this.rows.delete(id);
    const list = $("notes");
    if (rows.length !== list.children.length || rows.some((row, i) => list.children[i] !== row)) {
      const focused = document.activeElement;
      const inList = list.contains(focused);
      list.replaceChildren(...rows); // rows kept as they were keep their element: give focus back to it
      if (inList && document.body.contains(focused) && document.activeElement !== focused) focused.focus();
    }
    $("notes-empty").hidden = items.length > 0;
  }

  row(item, where, canEdit) {
    const li = el("li", item.resolved ? "resolved" : "");
    Object.assign(li.dataset, { item: item.item_id, kind: item.kind, resolved: item.resolved, pending: item.pending });
    const kind = item.kind === "task" ? (item.resolved ? "Task, done" : "Task") : (item.resolved ? "Note, resolved" : "Note");
    li.append(button(item.text, () => this.jump(item.item_id),
                     { className: "note-go", label: `${kind}: ${item.text.replace(/[.\s]+$/, "")}. ${where}. Show on the landscape` }));
    const who = [item.by, item.edited_by && item.edited_by !== item.by ? `edited by ${item.edited_by}` : "",
                 item.resolved && item.resolved_by ? `${item.kind === "task" ? "done" : "resolved"} by ${item.resolved_by}` : ""];
    li.append(el("div", "meta", [kind, ...who.filter(Boolean), where, item.pending ? "sending" : ""].filter(Boolean)
      .join(" · ")));
    if (canEdit) {
      const actions = el("div", "actions");
      const resolve = item.kind === "task" ? (item.resolved ? "Not done" : "Done") : (item.resolved ? "Reopen" : "Resolve");
      if (this.confirming === item.item_id) {
        actions.classList.add("confirm-delete");
        actions.append(el("span", "", "Delete for everyone?"),
          button("Delete", () => this.remove(item), { className: "confirm", label: `Yes, delete: ${item.text}` }),
          button("Cancel", () => this.confirm(null, item.item_id), { className: "cancel", label: `Keep: ${item.text}` }));
        actions.addEventListener("keydown", (event) => { if (event.key === "Escape") this.confirm(null, item.item_id); });
      } else {
        actions.append(
          button("Edit", () => this.startEdit(item), { className: "edit", label: `Edit: ${item.text}` }),
          button(resolve, () => this.resolve(item), { className: "resolve", label: `${resolve}: ${item.text}` }),
          button("Delete", () => this.confirm(item.item_id), { className: "delete", label: `Delete: ${item.text}` }),
        );
      }
      li.append(actions);
    }
    return li;
  }

  editor(item) {
    const li = el("li", "editing");
    li.dataset.item = item.item_id;
    const form = el("form", "row");
    const input = Object.assign(el("input"), { value: this.editing.draft, autocomplete: "off" });
    input.setAttribute("aria-label", `Edit the ${item.kind}`);
    input.oninput = () => { this.editing.draft = input.value; };
    input.onkeydown = (event) => { if (event.key === "Escape") { event.preventDefault(); this.stopEdit(item.item_id); } };
    const save = el("button", "", "Save");
    save.type = "submit";
    form.append(input, save, button("Cancel", () => this.stopEdit(item.item_id)));
    form.onsubmit = (event) => {
      event.preventDefault();
      const text = input.value.trim();
      if (tooLong(text, MAX_TEXT, `A ${item.kind}`)) return;
      // Made from the version shown (the one any "changed meanwhile" notice showed): a change saved by someone
      // else since is not replaced without a word (`conflict`, refusals.js reopens this editor).
      const version = Number.isFinite(item.version) ? item.version : null; // null: not stored yet itself
      if (text && text !== item.text) this.ws.sync.updateItem(item.item_id, { text, edited_by: this.ws.me.user_id }, version);
      this.stopEdit(item.item_id);
    };
    li.append(form);
    if (item.text !== this.editing.base) { // another member saved meanwhile: say so before a Save replaces it
      li.append(el("p", "conflict", `Changed meanwhile${item.edited_by ? ` by ${item.edited_by}` : ""}: “${item.text}”. ` +
                                    "Save puts your text in its place; Cancel keeps theirs."));
    }
    requestAnimationFrame(() => { if (this.editing?.id === item.item_id && !li.contains(document.activeElement)) input.focus(); });
    return li;
  }

  startEdit(item) {
    this.editing = { id: item.item_id, draft: item.text, base: item.text, kind: item.kind };
    this.render();
  }

  // Text typed in the new note field when the field hides (made a viewer, removed) is shown to copy.
  keepUnsent(canEdit) {
    const input = $("note-input");
    if (canEdit || !input.value.trim()) return;
    showError(`Your note was not pinned: you can no longer write here. Your text, to copy: “${input.value.trim()}”`,
              { kept: true });
    input.value = "";
  }

  // A save refused as `conflict`: the editor again, with the person's text and the note as it is now.
  reopen(id, text) {
    const item = this.items().find((i) => i.item_id === id);
    if (!item || !this.ws.canWrite() || (this.editing && this.editing.id !== id)) return false;
    this.editing = { id, draft: text, base: text, kind: item.kind };
    this.render();
    return true;
  }

  // The note being edited was deleted by someone else, or its editor may not write any more: the text typed
  // is not thrown away with it (into the new note field, with its kind, or shown to copy).
  lostWhileEditing(why = "The note you were editing was deleted meanwhile") {
    const { draft, kind } = this.editing;
    this.editing = null;
    const input = $("note-input");
    if (this.ws.canWrite() && !input.value.trim()) {
      input.value = draft;
      $("note-kind").value = kind;
      showError(`${why}: your text is in the new note field.`);
    } else if (draft.trim()) {
      showError(`${why}. Your text, to copy: “${draft}”`, { kept: true });
    }
  }

  stopEdit(id) {
    this.editing = null;
    this.render();
    this.rows.get(id)?.element.querySelector(".edit")?.focus();
  }

  resolve(item) {
    this.ws.sync.updateItem(item.item_id, item.resolved ? { resolved: null, resolved_by: null }
      : { resolved: true, resolved_by: this.ws.me.user_id });
  }

  // Delete asks first, in the row (a tester lost a note to one click, with no undo); the focus goes to Cancel,
  // and back to Delete when the question is left.
  confirm(id, was = null) {
    this.confirming = id;
    this.render();
    const row = this.rows.get(id || was)?.element;
    row?.querySelector(id ? ".cancel" : ".delete")?.focus();
  }

  remove(item) {
    this.confirming = null;
    const list = $("notes");
    const index = [...list.children].findIndex((row) => row.dataset.item === item.item_id);
    // From the version shown: a note someone changed meanwhile is not deleted unseen (`conflict`, said in words).
    this.ws.sync.deleteItem(item.item_id, Number.isFinite(item.version) ? item.version : null);
    announce(`Deleted: ${item.text}`);
    const next = list.children[index + 1] || list.children[index - 1]; // keep the keyboard in the list
    (next?.querySelector(".note-go") || $("note-input")).focus();
  }

  jump(id) {
    const item = this.items().find((i) => i.item_id === id);
    if (!item) return;
    this.ws.landscape.showView({ x: item.x - 700, y: item.y - 450, w: 1400, h: 900 });
    this.ws.overlays.highlight(id);
  }

  // Pinned where the person looks: on the page at the centre of the view, if there is one.
  create() {
    const text = $("note-input").value.trim();
    if (!text || tooLong(text, MAX_TEXT, "A note")) return;
    const kind = $("note-kind").value;
    const id = `${kind}-${crypto.randomUUID().slice(0, 8)}`;
    const at = this.ws.landscape.center();
    this.ws.sync.createItem(id, kind, { text, by: this.ws.me.user_id, created_at: Date.now(), ...at,
                                        ...this.pin(at) });
    $("note-input").value = "";
    announce(`${kind === "task" ? "Task" : "Note"} pinned: ${text}`);
  }

  pin(at) {
    const hit = this.ws.landscape.pageAt(at);
    return hit ? { doc: hit.document_id, page: hit.page, dx: hit.dx, dy: hit.dy } : { doc: null, page: null, dx: null, dy: null };
  }

  moved(id, x, y) { this.ws.sync.updateItem(id, { x, y, ...this.pin({ x, y }) }); }
}
