// Sidebar panels a person can fold away (documents, notes and tasks, people), so that the chat gets their room
// on a small screen: at 1280x800 a long document list left the chat three lines. A folded panel keeps its
// heading (with its count) and, for documents, the uploads under way; which panels are folded is kept in this
// browser, for every workspace, across reloads.

const KEY = "kalexo.folded";

function folded() {
  try {
    const kept = JSON.parse(localStorage.getItem(KEY));
    return new Set(Array.isArray(kept) ? kept : []);
  } catch { return new Set(); }
}

function keep(set) {
  try { localStorage.setItem(KEY, JSON.stringify([...set])); } catch { /* storage refused: folded for this page */ }
}

function show(panel, toggle, isFolded) {
  panel.classList.toggle("folded", isFolded);
  toggle.setAttribute("aria-expanded", String(!isFolded));
  toggle.title = isFolded ? "Show this panel" : "Fold this panel away";
}

export function foldablePanels() {
  const kept = folded();
  for (const toggle of document.querySelectorAll(".side h2 .fold")) {
    const panel = toggle.closest(".panel");
    const name = panel.getAttribute("aria-labelledby");
    show(panel, toggle, kept.has(name));
    toggle.addEventListener("click", () => {
      const now = folded();
      const isFolded = !panel.classList.contains("folded");
      if (isFolded) now.add(name); else now.delete(name);
      keep(now);
      show(panel, toggle, isFolded);
    });
  }
}
