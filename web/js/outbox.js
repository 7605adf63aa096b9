// What this client wrote and the server has not answered yet (docs/protocol.md, client algorithm step 6). Each op
// carries an op id chosen here, so an op sent again after a drop, a refusal for a moment or a lost answer is
// stored once: the server answers a repeated op id with the first op's ack. With `keep` ({user, workspace}) it is
// also kept in the browser (outbox_store.js), and starts with what closed pages of the same person left unsent.

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
    this.store = keep?.user && keep.workspace && typeof localStorage !== "undefined"
      ? new OutboxStore(keep.user, keep.workspace) : null;
    // {opId, body, sent}, in the order they were made
    this.entries = (this.store?.adopt() || []).map(({ opId, body }) => ({ opId, body, sent: false }));
    this.save();
  }

  save() { this.store?.save(this.entries); }

  // This page stops keeping the outbox (`drop`: its ops are thrown away, the member being removed).
  close(drop = false) { this.store?.close(drop); }

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
