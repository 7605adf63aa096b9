// A workspace's items as its ops leave them: the rules every client applies in sequence order, the same as the
// server's (docs/protocol.md, "Items: the rules"), so that every replica that applied the same ops is the same.

// The item rules (docs/protocol.md, "Items: the rules"): null removes a field, a create starts over.
export function applyOp(items, op) {
  const { item_id: id, fields } = op.data;
  const strip = (values) => Object.fromEntries(Object.entries(values).filter(([, v]) => v !== null));
  if (op.kind === "item.create") {
    items.set(id, { item_id: id, kind: op.data.kind, fields: strip(fields), version: op.seq });
  } else if (op.kind === "item.update" && items.has(id)) {
    const item = items.get(id);
    const merged = { ...item.fields };
    for (const [name, value] of Object.entries(fields)) {
      if (value === null) delete merged[name]; else merged[name] = value;
    }
    items.set(id, { ...item, fields: merged, version: op.seq });
  } else if (op.kind === "item.delete") {
    items.delete(id);
  }
}

// The items as they will be once what this client wrote reaches the server (its outbox, in order), and which of
// them are still on their way: shown at once and marked, so that a note pinned or resolved offline does not look
// lost (and is not pinned twice). Nothing is changed in place.
export function withOutbox(items, entries, me) {
  const pending = new Set();
  const writes = entries.filter((entry) => String(entry.body.action).startsWith("item."));
  if (!writes.length) return { items, pending };
  const copy = new Map(items);
  for (const { body } of writes) {
    const fields = body.action === "item.create" ? { ...body.fields, by: me } : body.fields || {};
    applyOp(copy, { kind: body.action, seq: Infinity, data: { item_id: body.item_id, kind: body.kind, fields } });
    pending.add(body.item_id);
  }
  return { items: copy, pending };
}
