// What the browser keeps between visits: the sign-in (per browser, in localStorage, so every tab shares it,
// until the token's own expiry) and the last view of each workspace (so a reload comes back to it).

const TOKEN_KEY = "kalexo.token";
const SIGNED_OUT_KEY = "kalexo.signed-out";
const VIEW_KEY = "kalexo.view.";

export function claims(token) {
  try {
    return JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
  } catch {
    return {}; // not a JWT: the server decides
  }
}

export function expiresAt(token) {
  const { exp } = claims(token);
  return typeof exp === "number" ? exp * 1000 : Infinity;
}

// The kept token, or null; an expired one is forgotten here and the reason returned for the sign-in page.
export function savedToken() {
  const token = localStorage.getItem(TOKEN_KEY);
  if (!token) return { token: null };
  if (expiresAt(token) <= Date.now()) {
    localStorage.removeItem(TOKEN_KEY);
    return { token: null, reason: "Your sign-in has expired: sign in again." };
  }
  return { token };
}

export function keepToken(token) {
  localStorage.removeItem(SIGNED_OUT_KEY);
  localStorage.setItem(TOKEN_KEY, token.trim());
}

// `signedOut`: the person chose to sign out (not an expired token forgotten), so other tabs forget their unsent
// changes too; `user`: who.
export function forgetToken(signedOut = null) {
  if (signedOut) localStorage.setItem(SIGNED_OUT_KEY, signedOut);
  localStorage.removeItem(TOKEN_KEY);
}

// Whether the token just forgotten (in another tab) was `user` signing out, rather than an expired one cleared.
export function signedOut(user) { return Boolean(user) && localStorage.getItem(SIGNED_OUT_KEY) === user; }

// Another tab signed in, out or as someone else: this one follows.
export function onTokenChange(callback) {
  window.addEventListener("storage", (event) => { if (event.key === TOKEN_KEY) callback(event.newValue); });
}

// After the token expires the page cannot work: sign-in again, at that moment, not at the next reload.
export function whenExpired(token, callback) {
  const left = expiresAt(token) - Date.now();
  if (Number.isFinite(left) && left < 2 ** 31) setTimeout(callback, Math.max(0, left));
}

export function savedView(workspace, user) {
  try {
    const view = JSON.parse(localStorage.getItem(`${VIEW_KEY}${workspace}.${user}`));
    return ["x", "y", "w", "h"].every((k) => Number.isFinite(view?.[k])) && view.w > 0 && view.h > 0 ? view : null;
  } catch {
    return null;
  }
}

export function keepView(workspace, user, view) {
  localStorage.setItem(`${VIEW_KEY}${workspace}.${user}`, JSON.stringify(view));
}
