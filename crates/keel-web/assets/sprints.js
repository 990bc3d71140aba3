// Sprint planning: drag stories between the product backlog and the sprint with pointer events,
// or move the selected row with Alt+→ / Alt+←; every move goes through the JSON API (so decision
// rights apply: a team member's move becomes a proposal) and the header's committed points follow.
// Without this script the page's "Add →" and "← Back" buttons post plain forms.
(function () {
  "use strict";
  var root = document.getElementById("plan");
  if (!root) return;
  var sprintId = root.dataset.sprint;
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute("content") : "";
  var lists = {
    backlog: document.querySelector("#plan-backlog tbody"),
    sprint: document.querySelector("#plan-sprint tbody")
  };
  var busy = false;

  function toast(text, isError) {
    var t = document.getElementById("toast");
    if (!t) return;
    t.textContent = text;
    t.classList.toggle("error", !!isError);
    t.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(function () { t.hidden = true; }, isError ? 7000 : 5000);
  }

  function sideOf(row) { return lists.sprint.contains(row) ? "sprint" : "backlog"; }
  function rowsOf(side) { return Array.prototype.slice.call(lists[side].querySelectorAll("tr[data-key]")); }

  function fmt(v) { return String(Math.round(v * 10) / 10); }

  function refresh() {
    var sum = 0;
    var rows = rowsOf("sprint");
    rows.forEach(function (r) { sum += parseFloat(r.dataset.points || "0") || 0; });
    var c = document.getElementById("plan-committed");
    if (c) c.textContent = fmt(sum);
    var m = document.getElementById("plan-meter");
    if (m) m.value = sum;
    var n = document.getElementById("plan-count");
    if (n) n.textContent = rows.length + (rows.length === 1 ? " item" : " items");
  }

  // Points the row's button form at the other side's action.
  function setSide(row, side) {
    var form = row.querySelector("form[data-plan-form]");
    if (!form) return;
    var key = row.dataset.key;
    var btn = form.querySelector("button");
    var keyInput = form.querySelector("input[name=key]");
    if (side === "sprint") {
      form.action = "/sprints/" + sprintId + "/items/" + encodeURIComponent(key) + "/remove";
      if (keyInput) keyInput.remove();
      btn.textContent = "← Back";
      btn.className = "btn tiny ghost";
      btn.setAttribute("aria-label", "Move " + key + " back to the backlog");
    } else {
      form.action = "/sprints/" + sprintId + "/items";
      if (!keyInput) {
        keyInput = document.createElement("input");
        keyInput.type = "hidden";
        keyInput.name = "key";
        keyInput.value = key;
        form.appendChild(keyInput);
      }
      btn.textContent = "Add →";
      btn.className = "btn tiny";
      btn.setAttribute("aria-label", "Add " + key + " to the sprint");
    }
  }

  function place(row, side, before) {
    var body = lists[side];
    var empty = body.querySelector(".sp-empty-row");
    if (before && before.parentNode === body) body.insertBefore(row, before);
    else if (side === "backlog") body.insertBefore(row, body.firstChild);
    else body.insertBefore(row, empty);
    setSide(row, side);
    row.classList.remove("flash-row");
    void row.offsetWidth;
    row.classList.add("flash-row");
  }

  // Moves `row` to `side` (before `before`, if given) through the API. The row moves at once;
  // a refusal (or a proposal, which is not the move itself) puts it back with the reason.
  function move(row, side, before) {
    if (busy || sideOf(row) === side) return;
    busy = true;
    root.setAttribute("aria-busy", "true");
    var key = row.dataset.key;
    var from = sideOf(row), parent = row.parentNode, next = row.nextSibling;
    place(row, side, before);
    refresh();
    row.focus();
    var undo = function () {
      parent.insertBefore(row, next);
      setSide(row, from);
      refresh();
      row.focus();
    };
    var req;
    if (side === "sprint") {
      var body = { key: key };
      if (before && before.dataset.key) body.before = before.dataset.key;
      req = fetch("/api/v1/sprints/" + sprintId + "/items", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify(body)
      });
    } else {
      req = fetch("/api/v1/sprints/" + sprintId + "/items/" + encodeURIComponent(key), {
        method: "DELETE",
        credentials: "same-origin",
        headers: { "Accept": "application/json", "X-CSRF-Token": csrf }
      });
    }
    return req.then(function (res) {
      if (res.status === 200) return;
      undo();
      return res.json().catch(function () { return {}; }).then(function (p) {
        if (res.status === 202) {
          toast("Proposed: waiting for the Product Owner" + (p && p.summary ? " — " + p.summary : ""));
        } else {
          toast((p && (p.detail || p.title)) || ("The move failed (" + res.status + ")."), true);
        }
      });
    }).catch(function () {
      undo();
      toast("The move could not be sent; check your connection.", true);
    }).then(function () {
      busy = false;
      root.removeAttribute("aria-busy");
      root.dataset.moves = String((parseInt(root.dataset.moves || "0", 10) || 0) + 1);
    });
  }

  // ---- Buttons: the same move without a page load ----------------------------------------
  root.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form.matches || !form.matches("form[data-plan-form]")) return;
    var row = form.closest("tr[data-key]");
    if (!row) return;
    e.preventDefault();
    move(row, sideOf(row) === "backlog" ? "sprint" : "backlog", null);
  });

  // ---- Keyboard ------------------------------------------------------------------------------
  root.addEventListener("keydown", function (e) {
    var row = e.target.closest ? e.target.closest("tr[data-key]") : null;
    if (!row || e.target !== row) return;
    var side = sideOf(row);
    if (e.altKey && e.key === "ArrowRight" && side === "backlog") {
      e.preventDefault();
      move(row, "sprint", null);
    } else if (e.altKey && e.key === "ArrowLeft" && side === "sprint") {
      e.preventDefault();
      move(row, "backlog", null);
    } else if (!e.altKey && (e.key === "ArrowDown" || e.key === "j")) {
      e.preventDefault();
      var n = row.nextElementSibling;
      if (n && n.dataset.key) n.focus();
    } else if (!e.altKey && (e.key === "ArrowUp" || e.key === "k")) {
      e.preventDefault();
      var p = row.previousElementSibling;
      if (p && p.dataset.key) p.focus();
    } else if (e.key === "Enter") {
      var a = row.querySelector("a.title-link");
      if (a) window.location.href = a.href;
    }
  });

  // ---- Drag and drop with pointer events ---------------------------------------------------
  var drag = null;

  function dropTarget(x, y) {
    var el = document.elementFromPoint(x, y);
    if (!el) return null;
    var zone = el.closest(".sp-drop");
    if (!zone) return null;
    var side = zone.dataset.list;
    var over = el.closest("tr[data-key]");
    return { side: side, zone: zone, before: over && over !== drag.row ? over : null };
  }

  function clearMarks() {
    document.querySelectorAll(".sp-drop.drop-over").forEach(function (z) { z.classList.remove("drop-over"); });
    document.querySelectorAll("tr.drop-before").forEach(function (r) { r.classList.remove("drop-before"); });
  }

  root.addEventListener("pointerdown", function (e) {
    if (e.button !== 0 || busy) return;
    var handle = e.target.closest(".handle");
    if (!handle) return;
    var row = handle.closest("tr[data-key]");
    if (!row || root.dataset.manage === "deny") return;
    e.preventDefault();
    drag = { row: row, from: sideOf(row), x: e.clientX, y: e.clientY, moved: false, ghost: null };
    handle.setPointerCapture(e.pointerId);
  });

  root.addEventListener("pointermove", function (e) {
    if (!drag) return;
    if (!drag.moved && Math.abs(e.clientX - drag.x) + Math.abs(e.clientY - drag.y) < 4) return;
    if (!drag.moved) {
      drag.moved = true;
      document.body.classList.add("is-dragging");
      drag.row.classList.add("dragging");
      var g = document.createElement("div");
      g.className = "sp-ghost";
      g.textContent = drag.row.dataset.key + " " + (drag.row.querySelector(".title-link") || {}).textContent;
      document.body.appendChild(g);
      drag.ghost = g;
    }
    drag.ghost.style.transform = "translate(" + (e.clientX + 12) + "px," + (e.clientY + 8) + "px)";
    clearMarks();
    var t = dropTarget(e.clientX, e.clientY);
    if (t && t.side !== drag.from) {
      t.zone.classList.add("drop-over");
      if (t.before && t.side === "sprint") t.before.classList.add("drop-before");
    }
  });

  function endDrag(e, cancelled) {
    if (!drag) return;
    var d = drag;
    drag = null;
    clearMarks();
    document.body.classList.remove("is-dragging");
    d.row.classList.remove("dragging");
    if (d.ghost) d.ghost.remove();
    if (cancelled || !d.moved) return;
    drag = d; // dropTarget skips the dragged row
    var t = dropTarget(e.clientX, e.clientY);
    drag = null;
    if (t && t.side !== d.from) move(d.row, t.side, t.side === "sprint" ? t.before : null);
  }

  root.addEventListener("pointerup", function (e) { endDrag(e, false); });
  root.addEventListener("pointercancel", function (e) { endDrag(e, true); });
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && drag) endDrag(e, true);
  });

  refresh();
})();
