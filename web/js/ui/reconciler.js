// The keyed reconciler: makes a list element's children match a described
// list of rows, rebuilding only what changed.
//
// Each row is {key, sig, build()}. A row whose key is known and whose
// signature is unchanged keeps its element; a changed signature rebuilds it
// (focus inside it moves to the same control of the new element); rows no
// longer described are removed; the rest are moved or inserted so the order
// matches. Elements that stay keep their focus, selection and scroll place.

export class Reconciler {
  /** @param list the element whose children are the rows */
  constructor(list) {
    this.list = list;
    this.rows = new Map();       // key -> {el, sig}
  }

  /** The element of a row, or undefined. */
  element(key) {
    return this.rows.get(key)?.el;
  }

  clear() {
    this.rows.clear();
    this.list.replaceChildren();
  }

  remove(key) {
    const row = this.rows.get(key);
    if (!row) return;
    row.el.remove();
    this.rows.delete(key);
  }

  /** @param rows the wanted rows, in order, each {key, sig, build() -> element} */
  reconcile(rows) {
    const wanted = new Set(rows.map((r) => r.key));
    for (const key of this.rows.keys()) if (!wanted.has(key)) this.remove(key);
    let cursor = this.list.firstChild;
    for (const r of rows) {
      let row = this.rows.get(r.key);
      if (!row || row.sig !== r.sig) {
        const el = r.build();
        el.dataset.key = r.key;
        if (row) {
          const focus = focusPath(row.el);
          row.el.replaceWith(el);
          if (cursor === row.el) cursor = el;
          restoreFocus(el, focus);
        }
        row = { el, sig: r.sig };
        this.rows.set(r.key, row);
      }
      if (row.el === cursor) cursor = cursor.nextSibling;
      else this.list.insertBefore(row.el, cursor);
    }
  }
}

/** Where focus is inside a row, so a rebuilt row can take it back. */
function focusPath(el) {
  const active = document.activeElement;
  if (!active || !el.contains(active)) return null;
  if (active === el) return { self: true };
  return { action: active.dataset.action, reaction: active.dataset.reaction };
}

function restoreFocus(el, path) {
  if (!path) return;
  if (path.self) return el.focus({ preventScroll: true });
  const sel = path.reaction ? `[data-reaction="${CSS.escape(path.reaction)}"]` : `[data-action="${CSS.escape(path.action ?? '')}"]`;
  (el.querySelector(sel) ?? el).focus({ preventScroll: true });
}
