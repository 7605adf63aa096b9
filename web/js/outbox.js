// What this client wrote and the server has not answered yet (docs/protocol.md, client algorithm step 6). Each op
// carries an op id chosen here, so an op sent again after a drop, a refusal for a moment or a lost answer is
// stored once: the server answers a repeated op id with the first op's ack. With `keep` it is also kept in the
// browser (outbox_store.js): `{user, workspace, ready, changed}`, where `ready()` says whether ops may go out now
// (the welcome handled) and `changed()` is told when ops left by other pages were taken over.

import { OutboxStore } from "./outbox_store.js";

// Refusals that mean "not now": the op goes out again, same op id, after the delay the server names.
export const RESEND_AFTER = new Set(["rate_limited", "busy", "internal_error", "access_changed"]);
const DEFAULT_RETRY_MS = 1000;

function newOpId() {
  return crypto.randomUUID ? crypto.randomUUID() : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

// How long the server asked us to wait: its `retry_after_ms` field, else the delay named in older servers'
// message text ("retry in N ms"), else a second.
export function retryDelay(error) {
  if (Number.isFinite(error?.retry_after_ms) && error.retry_after_ms >= 0) return error.retry_after_ms;
  return Number((/retry in (\d+) ms/.exec(error?.message || "") || [])[1]) || DEFAULT_RETRY_MS;
}

export class Outbox {
  // `send(message)` puts a message on the open socket and says whether it could.
  constructor(send, keep = null) {
    this.send = send;
    this.entries = []; // {opId, body, sent}, in the order they were made
    this.store = keep?.user && keep.workspace && typeof localStorage !== "undefined"
      ? new OutboxStore(keep.user, keep.workspace, (found) => this.adopt(found, keep)) : null;
    this.store?.adoptNow();
  }

  // Ops that pages of the same person left unsent (closed, crashed), taken over: sent now if ops may go out,
  // else after the next welcome with the rest.
  adopt(found, keep) {
    const held = new Set(this.entries.map((e) => e.opId));
    const fresh = found.filter((e) => !held.has(e.opId)).map(({ opId, body }) => ({ opId, body, sent: false }));
    this.entries.push(...fresh);
    this.save();
    if (fresh.length && keep.ready?.()) for (const entry of fresh) this.transmit(entry);
    if (fresh.length) keep.changed?.();
  }

  save() { this.store?.save(this.entries); }

  // This page stops keeping the outbox. `drop` (the member was removed: its ops can never be stored): they are
  // thrown away, here and in the browser, and their bodies returned for the page to show what was lost.
  close(drop = false) {
    this.store?.close(drop);
    if (!drop) return [];
    const lost = this.entries.map((e) => e.body);
    this.entries = [];
    return lost;
  }

  add(body) {
    const entry = { opId: newOpId(), body, sent: false };
    this.entries.push(entry);
    this.save();
    return entry;
  }

  transmit(entry) {
    entry.sent = this.send({ ...entry.body, id: entry.opId, op_id: entry.opId });
  }

  sendUnsent() {
    for (const entry of this.entries) if (!entry.sent) this.transmit(entry);
  }

  // After a drop every op goes out again; after a lost answer only those sent (`onlySent`). Says if any did.
  unsendAll(onlySent = false) {
    let any = false;
    for (const entry of this.entries) {
      if (onlySent && !entry.sent) continue;
      entry.sent = false;
      any = true;
    }
    return any;
  }

  // The server stored it (or had stored it under this op id already): it leaves the outbox. Says if it was ours.
  acked(opId) {
    const before = this.entries.length;
    this.entries = this.entries.filter((e) => e.opId !== opId);
    if (this.entries.length === before) return false;
    this.save();
    return true;
  }

  // An error answered one of our ops: "retrying" (sent again later, if still connected), "dropped" (refused
  // for good: the caller shows why), or "" (not an op of ours).
  failed(msg, connected) {
    const entry = msg.id && this.entries.find((e) => e.opId === msg.id);
    if (!entry) return "";
    if (RESEND_AFTER.has(msg.error?.code)) {
      entry.sent = false;
      setTimeout(() => {
        if (connected() && !entry.sent && this.entries.includes(entry)) this.transmit(entry);
      }, retryDelay(msg.error));
      return "retrying";
    }
    this.entries = this.entries.filter((e) => e !== entry);
    this.save();
    return "dropped";
  }
}
