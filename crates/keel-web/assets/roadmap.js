// The roadmap: drag an initiative between the now / next / later lanes, or along the timeline
// to move it by whole quarters. A move is a PATCH of the JSON API (/api/v1/initiatives/{id});
// the Product Owner's becomes a proposal. A lane move happens in place. Without this script each card's small forms do the
// same, and they are reachable from the keyboard.
// No inline code: the Content-Security-Policy forbids it, so behaviour hangs off data-* attributes.
(function () {
  "use strict";
  var root = document.getElementById("roadmap");
  if (!root || root.dataset.edit !== "1") return;
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute("content") : "";
  var busy = false;

  function reload(kind, text) {
    var url = window.location.pathname + "?" + kind + "=" + encodeURIComponent(text);
    window.location.assign(url);
  }

  function toast(text, isError) {
    var t = document.getElementById("toast");
    if (!t) return;
    t.textContent = text;
    t.classList.toggle("error", !!isError);
    t.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(function () { t.hidden = true; }, isError ? 7000 : 5000);
  }

  // Swaps in the server's drawing of the lanes (counts, each card's buttons and version).
  function redraw() {
    return fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("roadmap");
        if (fresh) root.innerHTML = fresh.innerHTML;
      });
  }

  // A move between lanes shows at once (the card goes to the end of its new lane) and is put
  // back when the server refuses it; a shift along the timeline redraws the page.
  function patch(card, body) {
    if (busy) return;
    busy = true;
    body.version = parseInt(card.dataset.version, 10);
    card.classList.add("rm-saving");
    var undo = null;
    var lane = body.lane && !body.start ? root.querySelector('[data-lane-drop="' + body.lane + '"]') : null;
    if (lane) {
      var parent = card.parentNode, next = card.nextSibling;
      lane.appendChild(card);
      undo = function () { parent.insertBefore(card, next); };
    }
    fetch("/api/v1/initiatives/" + encodeURIComponent(card.dataset.id), {
      method: "PATCH",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body)
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (p) {
        if (res.status === 200) {
          var warn = p.warnings && p.warnings.length ? "Moved, but " + p.title + " " + p.warnings.join("; ") + "." : "";
          if (!lane) { reload(warn ? "error" : "notice", warn || "Moved " + p.title + "."); return; }
          toast(warn || "Moved " + p.title + ".", !!warn);
          return redraw().catch(function () { /* the card is where it belongs; counts catch up */ });
        }
        if (undo) undo();
        if (res.status === 202) {
          toast("Proposed: waiting for the Product Manager. Proposal #" + p.id + ": " + p.summary + ".");
        } else {
          toast((p && (p.detail || p.title)) || "The move failed.", true);
        }
      });
    }).catch(function () {
      if (undo) undo();
      toast("The move could not be sent; check your connection.", true);
    }).then(function () {
      busy = false;
      card.classList.remove("rm-saving");
      root.dataset.moves = String((parseInt(root.dataset.moves || "0", 10) || 0) + 1);
    });
  }

  // The cards' "Move to" buttons take the same path.
  root.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form.classList || !form.classList.contains("rm-move") || !e.submitter || e.submitter.name !== "lane") return;
    var card = form.closest("[data-id]");
    if (!card) return;
    e.preventDefault();
    patch(card, { lane: e.submitter.value });
  });

  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function parse(s) { var p = s.split("-"); return new Date(Date.UTC(+p[0], +p[1] - 1, +p[2])); }
  function fmt(d) { return d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()); }
  function lastOfMonth(y, m) { return new Date(Date.UTC(y, m + 1, 0)).getUTCDate(); }
  // Moves a date by n quarters; a quarter's last day stays a quarter's last day.
  function shift(s, n, isEnd) {
    var d = parse(s);
    var y = d.getUTCFullYear(), m = d.getUTCMonth(), day = d.getUTCDate();
    var qEnd = (m % 3 === 2) && day === lastOfMonth(y, m);
    var qs = Math.floor(m / 3) * 3;
    var start = Date.UTC(y, qs, 1);
    var offset = Math.round((d.getTime() - start) / 86400000);
    var idx = y * 4 + qs / 3 + n;
    var ny = Math.floor(idx / 4), nq = ((idx % 4) + 4) % 4;
    var nStart = Date.UTC(ny, nq * 3, 1), nEnd = Date.UTC(ny, nq * 3 + 3, 0);
    if (isEnd && qEnd) return fmt(new Date(nEnd));
    return fmt(new Date(Math.min(nStart + offset * 86400000, nEnd)));
  }

  // The lane under the pointer, looking past the dragged card itself.
  function laneAt(over, card) {
    for (var i = 0; i < over.length; i++) {
      if (card.contains(over[i])) continue;
      var lane = over[i].closest && over[i].closest("[data-lane-drop]");
      if (lane) return lane;
    }
    return null;
  }

  var drag = null;
  root.addEventListener("pointerdown", function (e) {
    var card = e.target.closest("[data-drag]");
    if (!card || e.button !== 0 || e.target.closest("button, a, input, select, summary, form")) return;
    drag = { card: card, x: e.clientX, y: e.clientY, moved: false };
    card.setPointerCapture(e.pointerId);
  });
  root.addEventListener("pointermove", function (e) {
    if (!drag) return;
    var dx = e.clientX - drag.x, dy = e.clientY - drag.y;
    if (!drag.moved && Math.abs(dx) + Math.abs(dy) < 6) return;
    drag.moved = true;
    drag.card.classList.add("rm-dragging");
    drag.card.style.transform = "translate(" + dx + "px," + dy + "px)";
    var over = document.elementsFromPoint(e.clientX, e.clientY);
    root.querySelectorAll(".rm-over").forEach(function (x) { x.classList.remove("rm-over"); });
    var lane = laneAt(over, drag.card);
    if (lane) lane.classList.add("rm-over");
  });
  function end(e) {
    if (!drag) return;
    var d = drag;
    drag = null;
    d.card.classList.remove("rm-dragging");
    d.card.style.transform = "";
    root.querySelectorAll(".rm-over").forEach(function (x) { x.classList.remove("rm-over"); });
    if (!d.moved || e.type === "pointercancel") return;
    if (d.card.dataset.drag === "lane") {
      var lane = laneAt(document.elementsFromPoint(e.clientX, e.clientY), d.card);
      if (lane && lane.dataset.laneDrop !== d.card.dataset.lane) patch(d.card, { lane: lane.dataset.laneDrop });
    } else if (d.card.dataset.drag === "time") {
      var col = root.querySelector(".rm-qhead");
      var w = col ? col.getBoundingClientRect().width : 120;
      var n = Math.round((e.clientX - d.x) / w);
      if (n !== 0 && d.card.dataset.start && d.card.dataset.end) {
        patch(d.card, { start: shift(d.card.dataset.start, n, false), end: shift(d.card.dataset.end, n, true) });
      }
    }
  }
  root.addEventListener("pointerup", end);
  root.addEventListener("pointercancel", end);
})();
