"""What the issue-15 tests check of the page's layout in each state, at 1280x800 and 1366x768: nothing the page
needs is cut off (the page itself never scrolls), each sidebar list shows its last row or scrolls to it, no
document label is covered, and each person's name sits at their own box. A screenshot of each size is kept."""

from __future__ import annotations

from pathlib import Path

from tests.browser.conftest import UserPage
from tests.browser.team import audit, box, inside, on_screen, screenshot, view_of

SIZES = ((1280, 800), (1366, 768))
ALWAYS_IN_VIEW = ("#chat-input", "#chat-form button", "#errors", "#zoom-in", "#zoom-fit", ".side h2 >> nth=0",
                  "#signout")
LISTS = ("uploads", "documents", "notes", "people", "chat-log", "errors")
NAME_SLACK = 44  # px: how far a person's name may sit from the visible part of their box (overlays.js NEAR)

# For each sidebar list with rows: where its last row is, what of the list can be seen (inside every ancestor
# that clips it, and the window), and whether the list scrolls. A list that scrolls must itself be wholly in
# view (so scrolling reaches every row) and at least a row tall; one that does not must show its last row whole.
CUT_ROWS = """(ids) => {
    const problems = [];
    for (const id of ids) {
        const list = document.getElementById(id);
        const rows = [...list.children].filter(r => r.getClientRects().length);
        if (!rows.length) continue;
        const own = list.getBoundingClientRect();
        let seen = {top: Math.max(own.top, 0), bottom: Math.min(own.bottom, innerHeight)};
        for (let a = list.parentElement; a; a = a.parentElement) {
            if (getComputedStyle(a).overflowY === 'visible') continue;
            const r = a.getBoundingClientRect();
            seen = {top: Math.max(seen.top, r.top), bottom: Math.min(seen.bottom, r.bottom)};
        }
        const style = getComputedStyle(list).overflowY;
        const scrolls = (style === 'auto' || style === 'scroll') && list.scrollHeight > list.clientHeight + 1;
        const last = rows[rows.length - 1].getBoundingClientRect();
        if (scrolls) {
            if (own.top < seen.top - 0.5 || own.bottom > seen.bottom + 0.5) problems.push(`#${id} is cut off`);
            else if (own.height < Math.min(rows[0].getBoundingClientRect().height, 40) - 0.5)
                problems.push(`#${id} is ${own.height}px tall`);
        } else if (last.top < seen.top - 0.5 || last.bottom > seen.bottom + 0.5) {
            problems.push(`#${id}'s last row is cut off and the list does not scroll: ${rows.at(-1).innerText}`);
        }
    }
    return problems;
}"""

# Each name shown inside the canvas (not at the edge for a box off screen, nor the corner for a view around
# this one) is within a label's height of the part of its own box that is on the canvas.
NAMES_AWAY = """(slack) => {
    const viewer = document.getElementById('viewer').getBoundingClientRect();
    const away = [];
    for (const name of document.querySelectorAll('.viewport-name[data-where=inside]')) {
        const box = document.querySelector(`.viewport[data-user="${name.dataset.user}"]`).getBoundingClientRect();
        const left = Math.max(box.left, viewer.left), right = Math.min(box.right, viewer.right);
        const top = Math.max(box.top, viewer.top), bottom = Math.min(box.bottom, viewer.bottom);
        const n = name.getBoundingClientRect();
        const dx = Math.max(left - n.right, n.left - right, 0), dy = Math.max(top - n.bottom, n.top - bottom, 0);
        if (dx > slack || dy > slack) away.push(`${name.dataset.user}: ${Math.round(dx)}, ${Math.round(dy)} px away`);
    }
    return away;
}"""

# Each file on its way (#uploads li) wholly in the window: where it is when it is not.
UPLOADS_CUT = """() => [...document.querySelectorAll('#uploads li')]
    .map(li => [li.innerText, li.getBoundingClientRect()])
    .filter(([, r]) => r.top < -0.5 || r.left < -0.5 || r.bottom > innerHeight + 0.5 || r.right > innerWidth + 0.5)
    .map(([text, r]) => `${text}: ${r.left},${r.top} to ${r.right},${r.bottom} in ${innerWidth}x${innerHeight}`)"""

LABEL_ON_TOP = """l => { const r = l.getBoundingClientRect(); const v = document.getElementById('viewer')
        .getBoundingClientRect();
    const x = Math.min(Math.max(r.x + r.width / 2, v.x + 1), v.right - 1), y = r.y + r.height / 2;
    if (y < v.y || y > v.bottom || r.right <= v.x + 1 || r.x >= v.right - 1) return '';  // not on the canvas
    const top = document.elementFromPoint(x, y);
    return l === top || l.contains(top) ? '' : `${top.className} ${top.dataset.user || ''} ${top.innerText}`; }"""

NAME_OVER_LABEL = """() => {
    const overlap = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
    const names = [...document.querySelectorAll('.viewport-name:not([data-where=crowded])')]
        .map(n => n.getBoundingClientRect());
    return [...document.querySelectorAll('.doc-label:not(.crowded)')].some(l => names.some(n =>
        overlap(l.getBoundingClientRect(), n)));
}"""


def both_sizes(person: UserPage, shots: Path, name: str, audit_at: tuple[int, int] | None = None) -> None:
    """The state at each size, checked, then photographed; `audit_at`: the size at which the accessibility
    audit runs as well."""
    page = person.page
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_function(f"innerWidth === {width} && innerHeight === {height}")
        where = f"at {width}x{height} ({name})"
        page.wait_for_selector("#viewer:not([data-animating])", state="attached")  # the view has settled
        screenshot(page, shots, name)  # first, so that a failure below can be seen
        for selector in ALWAYS_IN_VIEW:
            assert on_screen(page, selector), f"{selector} is cut off {where}"
        assert page.evaluate(UPLOADS_CUT) == [], f"an upload is cut off {where}"  # however long the list
        assert page.evaluate("document.scrollingElement.scrollHeight <= innerHeight + 1"), "the page scrolls"
        assert page.evaluate("document.scrollingElement.scrollWidth <= innerWidth + 1"), "the page scrolls sideways"
        assert page.evaluate(CUT_ROWS, list(LISTS)) == [], where
        # Every label shown is the top thing where it is (a `crowded` one, faded out for want of room, is not shown).
        for label in page.locator(".doc-label:not(.crowded)").all():
            if label.is_visible():
                over = label.evaluate(LABEL_ON_TOP)
                assert not over, f"a label is covered {where}: {label.inner_text()} by {over}"
        assert not page.evaluate(NAME_OVER_LABEL), f"a person's name covers a document label {where}"
        assert page.evaluate(NAMES_AWAY, NAME_SLACK) == [], f"a name is away from its box {where}"
        if audit_at == (width, height):
            found = audit(page)
            assert found == [], f"{where}: {found}"
    page.set_viewport_size({"width": 1280, "height": 800})


def portrait(person: UserPage, selector: str) -> None:
    shapes = person.page.locator(selector).all()
    assert shapes
    for shape in shapes:
        found = shape.bounding_box()
        assert found is not None and found["height"] > found["width"] * 1.15, found


def edge_marker_points_at(person: UserPage, user: str) -> None:
    """The name of someone whose box is off screen: inside the canvas, at the edge towards the box, with the
    arrows that say which way it is."""
    page = person.page
    view = view_of(page)
    other = {k: float(v) for k, v in page.locator(f".viewport[data-user={user}]").evaluate(
        "b => ({...b.dataset})").items() if k in "xywh"}
    arrows = ("↑" if other["y"] + other["h"] <= view["y"] else "↓" if other["y"] >= view["y"] + view["h"] else "") + \
             ("←" if other["x"] + other["w"] <= view["x"] else "→" if other["x"] >= view["x"] + view["w"] else "")
    assert arrows, (other, view)
    name, canvas = box(page, f".viewport-name[data-user={user}]"), box(page, "#viewer")
    assert inside(name, canvas)
    assert page.locator(f".viewport-name[data-user={user}]").inner_text() == f"{arrows} {user}"
    near = 12
    for arrow, gap in (("↑", name["y"] - canvas["y"]), ("←", name["x"] - canvas["x"]),
                       ("↓", canvas["y"] + canvas["height"] - name["y"] - name["height"]),
                       ("→", canvas["x"] + canvas["width"] - name["x"] - name["width"])):
        if arrow in arrows:
            assert gap <= near, f"{user}'s name is {gap} px from the edge it points at ({arrow})"
