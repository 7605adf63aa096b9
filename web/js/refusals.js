// What a refused write becomes on the page: the refusal said in people's words (a tester read
// "item_not_found: no live item 'note-5601bc42' (deleted, or never created)"), and the text the person typed
// never thrown away with it. It goes back where it was typed (the note field, with its kind; the chat field;
// a note's editor, after a `conflict`), or, when they may no longer write there (made a viewer meanwhile), it
// is shown in the error itself to copy.

import { $, showError } from "./dom.js";

// Why, as the person reads it; the server's message (docs/protocol.md) for anything else.
const SAID = {
  role_too_low: "you can only view this workspace now",
  item_not_found: "it was deleted meanwhile",
  conflict: "someone else changed it meanwhile",
  item_too_large: "it is too long",
  op_too_large: "it is too long",
  workspace_full: "the workspace holds as many notes and tasks as it can",
  forbidden: "that is not allowed here",
  rate_limited: "too much at once: wait a moment",
};

export function plainly(code, message) {
  return SAID[code] || message || "the server refused it";
}

// `detail`: the sync's error event ({code, message, op}); `op` is what this page wrote, when it was dropped.
export function showRefusal(ws, { code, message, op }) {
  const why = plainly(code, message);
  if (!op) return showError(`Refused: ${why}`, { code });
  const text = op.action === "chat" ? op.text : op.fields?.text;
  const what = op.action === "chat" ? "Your message was not sent"
    : op.action === "item.delete" ? "Not deleted" : "Not saved";
  if (typeof text !== "string" || !text.trim() || op.action === "item.delete") {
    return showError(`${what}: ${why}`, { code });
  }
  if (code === "conflict" && op.action === "item.update" && ws.notes.reopen(op.item_id, text)) {
    return showError(`${what}: ${why}. Your text is back in the editor, beside theirs.`, { code });
  }
  if (putBack(ws, op, text, code)) {
    return showError(`${what}: ${why}. Your text is back in the ${op.action === "chat" ? "message" : "new note"} field.`,
                     { code });
  }
  return showError(`${what}: ${why}. Your text, to copy: “${text}”`, { code, kept: true }); // stays until dismissed
}

// Into the field it came from, if that field is there for this person and empty (nothing typed since is lost).
// Not after `role_too_low`: the page learns the new role at its next heartbeat, and the note field then hides.
function putBack(ws, op, text, code) {
  const chat = op.action === "chat";
  const input = $(chat ? "chat-input" : "note-input");
  if ((!chat && (!ws.canWrite() || code === "role_too_low")) || ws.sync.closed || input.value.trim()) return false;
  input.value = text;
  if (!chat) $("note-kind").value = kindOf(op, ws);
  return true;
}

// An item's kind: from the op (a create), the item still shown, or its id ("task-1a2b3c4d", as the page makes them).
export function kindOf(op, ws) {
  const kind = op.kind || ws.sync.items.get(op.item_id)?.kind || String(op.item_id).split("-")[0];
  return kind === "task" ? "task" : "note";
}

// Text over a limit is refused here, kept where it was typed, and the person told by how much: the field does
// not cut it short (a `maxlength` cut pasted text without a word, and counted an emoji as two).
export function tooLong(text, limit, what) {
  const length = [...text].length; // code points, as the server counts (docs/protocol.md)
  if (length <= limit) return false;
  showError(`${what} holds at most ${limit.toLocaleString("en")} characters; this one has ${length.toLocaleString("en")}.`);
  return true;
}
