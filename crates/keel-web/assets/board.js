// The team board: drag and drop of cards between columns with pointer events, keyboard moves,
// and the reason dialog for a column at its WIP limit. Moves go through the JSON API
// (POST /api/v1/teams/{id}/board/moves); without this script each card's small form does the same.
// No inline code: the Content-Security-Policy forbids it, so behaviour hangs off data-* attributes.
(function () {
  "use strict";
  var board = document.getElementById("board");
  if (!board) return;
  var team = board.dataset.team;
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute("content") : "";
  var busy = false;

  var toastTimer = null;
  function toast(text, isError) {
    var t = document.getElementById("toast");
    if (!t) return;
    t.textContent = text;
    t.classList.toggle("error", !!isError);
    t.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { t.hidden = true; }, isError ? 7000 : 5000);
  }

  function cards() { return Array.prototype.slice.call(board.querySelectorAll(".bd-card")); }
  function head(col) { return board.querySelector('.bd-head[data-col="' + col + '"]'); }
  function cellOf(card) { return card.closest(".bd-cell"); }
  function colOf(card) { return parseInt(cellOf(card).dataset.col, 10); }
  function ncols() { return board.querySelectorAll(".bd-head").length; }

  // Keeps a column head's count and its full / over-limit flags in step with a move.
  function bump(col, delta) {
    var h = head(col);
    if (!h) return;
    var n = (parseInt(h.dataset.count, 10) || 0) + delta;
    h.dataset.count = String(n);
    var el = h.querySelector(".bd-n");
    if (el) el.textContent = String(n);
    var wip = parseInt(h.dataset.wip, 10);
    h.classList.toggle("full", !!wip && n === wip);
    h.classList.toggle("over", !!wip && n > wip);
    var flag = h.querySelector(".bd-flag");
    if (wip && n > wip && !flag) {
      flag = document.createElement("span");
      flag.className = "bd-flag";
      flag.title = "More cards than the WIP limit";
      flag.textContent = "over limit";
      h.appendChild(flag);
    } else if (flag && !(wip && n > wip)) {
      flag.remove();
    }
  }

  function isFull(col) {
    var h = head(col);
    var wip = h ? parseInt(h.dataset.wip, 10) : NaN;
    return !!wip && (parseInt(h.dataset.count, 10) || 0) >= wip;
  }

  // ---- The reason dialog ------------------------------------------------------------------
  var dialog = document.getElementById("bd-reason");
  var reasonText = document.getElementById("bd-reason-text");
  var pending = null;
  function askReason(columnName, detail, done) {
    if (!dialog || typeof dialog.showModal !== "function") { done(null); return; }
    pending = done;
    var msg = document.getElementById("bd-reason-msg");
    if (msg) {
      msg.textContent = (detail || ("Column " + columnName + " is at its WIP limit.")) +
        " Say why this card goes in anyway; the reason is recorded.";
    }
    reasonText.value = "";
    dialog.showModal();
    reasonText.focus();
  }
  function closeDialog(value) {
    var done = pending;
    pending = null;
    if (dialog.open) dialog.close();
    if (done) done(value);
  }
  if (dialog) {
    document.getElementById("bd-reason-form").addEventListener("submit", function (e) {
      e.preventDefault();
      var v = reasonText.value.trim();
      if (!v) { reasonText.focus(); return; }
      closeDialog(v);
    });
    document.getElementById("bd-reason-cancel").addEventListener("click", function () { closeDialog(null); });
    // Enter gives the reason; Shift+Enter starts a new line.
    reasonText.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey) {
        e.preventDefault();
        document.getElementById("bd-reason-form").requestSubmit();
      }
    });
    dialog.addEventListener("cancel", function (e) { e.preventDefault(); closeDialog(null); });
  }

  // ---- Moves --------------------------------------------------------------------------------
  function finish() {
    busy = false;
    board.removeAttribute("aria-busy");
    board.dataset.moves = String((parseInt(board.dataset.moves || "0", 10) || 0) + 1);
  }

  // Moves `card` into column `to` (placing it before `beforeCard` when given), asking for a
  // reason first when the column is full; puts it back when the server says no.
  function moveCard(card, to, beforeCard) {
    if (busy) return;
    var from = colOf(card);
    if (from === to && !beforeCard) return;
    var targetCell = board.querySelector('.bd-cell[data-col="' + to + '"]');
    // With swimlanes a column has a cell per lane: stay in the card's lane.
    var lane = card.closest(".bd-lane");
    var laneCell = lane && lane.querySelector('.bd-cell[data-col="' + to + '"]');
    if (laneCell) targetCell = laneCell;
    if (!targetCell) return;
    var name = targetCell.dataset.column;
    var go = function (reason) {
      var origParent = card.parentNode, origNext = card.nextElementSibling;
      if (beforeCard) targetCell.insertBefore(card, beforeCard); else targetCell.appendChild(card);
      if (from !== to) { bump(from, -1); bump(to, 1); }
      card.focus();
      var body = { key: card.dataset.key, column: name };
      // The version the card was drawn with: a card someone else changed since is not moved.
      var version = parseInt(card.dataset.version, 10);
      if (!isNaN(version)) body.version = version;
      if (beforeCard) body.before = beforeCard.dataset.key;
      if (reason) body.reason = reason;
      busy = true;
      board.setAttribute("aria-busy", "true");
      var restore = function () {
        origParent.insertBefore(card, origNext);
        if (from !== to) { bump(to, -1); bump(from, 1); }
        card.focus();
      };
      fetch("/api/v1/teams/" + encodeURIComponent(team) + "/board/moves", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify(body)
      }).then(function (res) {
        return res.json().catch(function () { return {}; }).then(function (p) {
          if (res.status === 200) {
            if (p && p.status) card.dataset.status = p.status;
            if (p && typeof p.version === "number") card.dataset.version = String(p.version);
            card.classList.remove("flash-row");
            void card.offsetWidth;
            card.classList.add("flash-row");
            toast(p && p.breach ? ("Moved " + body.key + " to " + name + "; the WIP limit breach was recorded.")
              : ("Moved " + body.key + " to " + name + "."));
            finish();
            return;
          }
          restore();
          finish();
          if (res.status === 409 && p && p.field === "reason" && !reason) {
            askReason(name, p.detail, function (r) { if (r) go(r); });
          } else if (res.status === 409 && p && /stale-version$/.test(p.type || "")) {
            card.dataset.stale = "1";
            toast(body.key + " was changed by someone else since this board was loaded, so it was not moved. " +
              "Reload the board to see it as it is now.", true);
          } else if (res.status === 202) {
            toast("Proposed: waiting for the Product Owner" + (p && p.summary ? " — " + p.summary : ""));
          } else {
            toast((p && (p.detail || p.title)) || ("The move failed (" + res.status + ")."), true);
          }
        });
      }).catch(function () {
        restore();
        finish();
        toast("The move could not be sent; check your connection.", true);
      });
    };
    if (from !== to && isFull(to)) {
      askReason(name, null, function (r) { if (r) go(r); });
    } else {
      go(null);
    }
  }

  // ---- Drag and drop with pointer events ------------------------------------------------------
  var drag = null;
  board.addEventListener("pointerdown", function (e) {
    if (e.button !== 0 || busy) return;
    var card = e.target.closest(".bd-card");
    if (!card || e.target.closest("a, button, input, select, textarea, summary, details[open] form")) return;
    drag = { card: card, x: e.clientX, y: e.clientY, ghost: null, over: null, before: null, id: e.pointerId };
  });

  function dropTarget(x, y) {
    var el = document.elementFromPoint(x, y);
    var cell = el && el.closest ? el.closest(".bd-cell") : null;
    if (!cell) {
      // Over a column head or a lane gap: the cell of that column in the card's lane.
      var h = el && el.closest ? el.closest(".bd-head") : null;
      if (h) {
        var lane = drag.card.closest(".bd-lane");
        cell = lane && lane.querySelector('.bd-cell[data-col="' + h.dataset.col + '"]');
      }
    }
    if (!cell) return null;
    var before = null;
    var list = Array.prototype.slice.call(cell.querySelectorAll(".bd-card"));
    for (var i = 0; i < list.length; i++) {
      if (list[i] === drag.card) continue;
      var r = list[i].getBoundingClientRect();
      if (y < r.top + r.height / 2) { before = list[i]; break; }
    }
    return { cell: cell, before: before };
  }

  document.addEventListener("pointermove", function (e) {
    if (!drag) return;
    if (!drag.ghost) {
      if (Math.abs(e.clientX - drag.x) + Math.abs(e.clientY - drag.y) < 6) return;
      var r = drag.card.getBoundingClientRect();
      var g = drag.card.cloneNode(true);
      g.removeAttribute("id");
      g.classList.add("bd-ghost");
      g.style.width = r.width + "px";
      g.style.left = r.left + "px";
      g.style.top = r.top + "px";
      drag.dx = drag.x - r.left;
      drag.dy = drag.y - r.top;
      document.body.appendChild(g);
      drag.ghost = g;
      drag.card.classList.add("bd-dragging");
      board.classList.add("bd-drag-on");
    }
    e.preventDefault();
    drag.ghost.style.left = (e.clientX - drag.dx) + "px";
    drag.ghost.style.top = (e.clientY - drag.dy) + "px";
    var t = dropTarget(e.clientX, e.clientY);
    if (drag.over && (!t || drag.over !== t.cell)) drag.over.classList.remove("bd-drop");
    if (t) { t.cell.classList.add("bd-drop"); drag.over = t.cell; drag.before = t.before; } else { drag.over = null; }
  });

  function endDrag(e, cancel) {
    if (!drag) return;
    var d = drag;
    drag = null;
    if (!d.ghost) return;
    d.ghost.remove();
    d.card.classList.remove("bd-dragging");
    board.classList.remove("bd-drag-on");
    if (d.over) d.over.classList.remove("bd-drop");
    if (cancel || !d.over) return;
    e.preventDefault();
    moveCard(d.card, parseInt(d.over.dataset.col, 10), d.before);
  }
  document.addEventListener("pointerup", function (e) { endDrag(e, false); });
  document.addEventListener("pointercancel", function (e) { endDrag(e, true); });
  // A drag must not also follow the card's links.
  board.addEventListener("click", function (e) {
    if (e.target.closest(".bd-dragging")) e.preventDefault();
  }, true);

  // ---- Keyboard -------------------------------------------------------------------------------
  function cardsIn(col, lane) {
    var scope = lane || board;
    return Array.prototype.slice.call(scope.querySelectorAll('.bd-cell[data-col="' + col + '"] .bd-card'));
  }
  function focusCard(c) { if (c) c.focus(); }

  board.addEventListener("keydown", function (e) {
    var card = e.target.closest && e.target.closest(".bd-card");
    if (!card || e.target !== card || busy) return;
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    var col = colOf(card);
    if (e.shiftKey && (e.key === "ArrowRight" || e.key === "ArrowLeft")) {
      e.preventDefault();
      var to = col + (e.key === "ArrowRight" ? 1 : -1);
      if (to >= 0 && to < ncols()) moveCard(card, to, null);
      return;
    }
    if (e.shiftKey) return;
    var lane = card.closest(".bd-lane");
    var here = cardsIn(col, lane);
    var i = here.indexOf(card);
    if (e.key === "ArrowDown") { e.preventDefault(); focusCard(here[i + 1]); }
    else if (e.key === "ArrowUp") { e.preventDefault(); focusCard(here[i - 1]); }
    else if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
      e.preventDefault();
      var step = e.key === "ArrowRight" ? 1 : -1;
      for (var c = col + step; c >= 0 && c < ncols(); c += step) {
        var there = cardsIn(c, lane);
        if (there.length) { focusCard(there[Math.min(i, there.length - 1)]); break; }
      }
    } else if (e.key === "Enter") {
      var a = card.querySelector("a.bd-title");
      if (a) { e.preventDefault(); window.location.href = a.href; }
    }
  });
  // Keep focus order sane for the first Tab: the first card is the way in.
  if (!document.activeElement || document.activeElement === document.body) {
    var first = cards()[0];
    if (first) first.setAttribute("data-first", "1");
  }
})();
