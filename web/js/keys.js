// What keys on the landscape's canvas may do. OpenSeadragon turns the canvas with r and flips it with f; notes,
// people's viewports and document labels all lie on the unturned landscape every client shares, so those keys
// do nothing here (matched by keyCode, as OpenSeadragon reads them, whatever the keyboard's layout). Keys that
// move nothing (Tab out of the canvas, say) do not count as the person moving the view, which would stop them
// following someone and keep the view from fitting new documents.

const TURN_KEYS = new Set([82, 70]); // r, f
const STILL_KEYS = new Set(["Tab", "Shift", "Control", "Alt", "Meta", "Escape", "CapsLock", "Enter", " "]);

// OpenSeadragon's `canvas-key` event; `moved` is called for a key that moves the view.
export function onCanvasKey(event, moved) {
  if (TURN_KEYS.has(event.originalEvent.keyCode)) event.preventDefaultAction = true;
  else if (!STILL_KEYS.has(event.originalEvent.key)) moved();
}
