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
