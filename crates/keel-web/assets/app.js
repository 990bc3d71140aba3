// Keel's shared script. Pages work without it; it adds drag-and-drop and keyboard reordering of
// the backlog (through the JSON API), in-place changes (criteria and checks, watching, the
// inbox, a sprint's items), submit-on-change for filters, "Load more" in place, and a few
// keyboard shortcuts. No inline code anywhere: the page's
// Content-Security-Policy forbids it, so behaviour hangs off data-* attributes.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute("content") : "";

  // ---- Toast ---------------------------------------------------------------------------
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

  function typing(el) {
    if (!el) return false;
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }

  // ---- Backlog ---------------------------------------------------------------------------
  var table = document.getElementById("backlog");
  if (table) initBacklog(table);

  function initBacklog(table) {
    var tbody = table.tBodies[0];
    var busy = false;

    function rows() { return Array.prototype.slice.call(tbody.querySelectorAll("tr[data-key]")); }
    function prevRow(r) { var p = r.previousElementSibling; while (p && !p.dataset.key) p = p.previousElementSibling; return p; }
    function nextRow(r) { var n = r.nextElementSibling; while (n && !n.dataset.key) n = n.nextElementSibling; return n; }

    function select(r) {
      if (!r) return;
      rows().forEach(function (x) { x.classList.remove("selected"); });
      r.classList.add("selected");
      r.focus();
    }

    // Sends a move to the API; `restore` puts the row back when it did not happen.
    function send(row, body, restore) {
      busy = true;
      table.setAttribute("aria-busy", "true");
      return fetch("/api/v1/items/" + encodeURIComponent(row.dataset.key) + "/move", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify(body)
      }).then(function (res) {
        if (res.status === 200) {
          row.classList.remove("flash-row");
          void row.offsetWidth;
          row.classList.add("flash-row");
          return;
        }
        restore();
        return res.json().catch(function () { return {}; }).then(function (p) {
          if (res.status === 202) {
            toast("Proposed: waiting for the Product Owner" + (p && p.summary ? " — " + p.summary : ""));
          } else {
            toast((p && (p.detail || p.title)) || ("The move failed (" + res.status + ")."), true);
          }
        });
      }).catch(function () {
        restore();
        toast("The move could not be sent; check your connection.", true);
      }).then(function () {
        busy = false;
        table.removeAttribute("aria-busy");
        table.dataset.moves = String((parseInt(table.dataset.moves || "0", 10) || 0) + 1);
      });
    }

    function restorer(row) {
      var parent = row.parentNode, next = row.nextElementSibling;
      return function () { parent.insertBefore(row, next); };
    }

    function move(row, dir) {
      if (busy) return;
      var sib = dir < 0 ? prevRow(row) : nextRow(row);
      if (!sib) return;
      var restore = restorer(row);
      var body = dir < 0 ? { before: sib.dataset.key } : { after: sib.dataset.key };
      if (dir < 0) sib.before(row); else sib.after(row);
      select(row);
      send(row, body, function () { restore(); select(row); });
    }

    function moveTo(row, end) {
      if (busy) return;
      var all = rows();
      var edge = end === "top" ? all[0] : all[all.length - 1];
      if (!edge || edge === row) return;
      var restore = restorer(row);
      if (end === "top") edge.before(row); else edge.after(row);
      select(row);
      var body = end === "top" ? { top: true } : { bottom: true };
      return send(row, body, function () { restore(); select(row); });
    }

    // ---- `m`: the move prompt ----------------------------------------------------------
    // One key opens it on the selected row: t / b send the item to the top / bottom, j / k
    // (or the arrows) move it a row at a time, 1–9 put it into one of the open sprints listed,
    // Enter or Esc closes it and gives the focus back to the row. Every choice is also a button.
    var prompt = null, promptRow = null, sprintList = null;
    function api(method, url, body) {
      return fetch(url, {
        method: method, credentials: "same-origin",
        headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf },
        body: body ? JSON.stringify(body) : undefined
      }).then(function (r) { return r.json().catch(function () { return null; }).then(function (b) { return { status: r.status, body: b }; }); });
    }
    function openSprints() {
      if (sprintList) return Promise.resolve(sprintList);
      var p = table.dataset.product;
      return api("GET", "/api/v1/products/" + encodeURIComponent(p) + "/teams").then(function (r) {
        var teams = Array.isArray(r.body) ? r.body : [];
        return Promise.all(teams.map(function (t) {
          return api("GET", "/api/v1/teams/" + t.id + "/sprints").then(function (s) {
            return (Array.isArray(s.body) ? s.body : []).filter(function (x) { return x.state !== "closed"; })
              .map(function (x) { return { id: x.id, name: x.name + (x.state === "active" ? " (active)" : "") + (teams.length > 1 ? " · " + t.name : "") }; });
          });
        }));
      }).then(function (lists) { sprintList = [].concat.apply([], lists).slice(0, 9); return sprintList; });
    }
    function intoSprint(row, sprint) {
      closePrompt();
      return api("POST", "/api/v1/sprints/" + sprint.id + "/items", { key: row.dataset.key }).then(function (r) {
        if (r.status === 200 || r.status === 201) toast(row.dataset.key + " is now in " + sprint.name + ".");
        else if (r.status === 202) toast("Proposed: waiting for a decision");
        else toast((r.body && (r.body.detail || r.body.title)) || ("The move failed (" + r.status + ")."), true);
      }, function () { toast("The move could not be sent; check your connection.", true); });
    }
    function button(label, kbd, run) {
      var b = document.createElement("button");
      b.type = "button";
      b.className = "btn small";
      var k = document.createElement("kbd");
      k.textContent = kbd;
      b.appendChild(k);
      b.appendChild(document.createTextNode(" " + label));
      b.addEventListener("click", run);
      return b;
    }
    function closePrompt() {
      if (!prompt || !prompt.open) return;
      prompt.close();
    }
    function openPrompt(row) {
      if (!prompt) {
        prompt = document.createElement("dialog");
        prompt.id = "move-prompt";
        prompt.className = "move-prompt";
        prompt.setAttribute("aria-labelledby", "move-title");
        document.body.appendChild(prompt);
        prompt.addEventListener("close", function () { if (promptRow) select(promptRow); promptRow = null; });
        prompt.addEventListener("keydown", function (e) {
          if (e.ctrlKey || e.metaKey || e.altKey) return;
          var r = promptRow, k = e.key;
          if (!r) return;
          if (k === "Tab") return;
          e.stopPropagation();
          if (k === "Escape" || (k === "Enter" && e.target === prompt) || k === "m") { e.preventDefault(); closePrompt(); }
          else if (k === "Enter") { return; }
          else if (k === "t") { e.preventDefault(); moveTo(r, "top"); prompt.focus(); }
          else if (k === "b") { e.preventDefault(); moveTo(r, "bottom"); prompt.focus(); }
          else if (k === "j" || k === "ArrowDown") { e.preventDefault(); move(r, 1); prompt.focus(); }
          else if (k === "k" || k === "ArrowUp") { e.preventDefault(); move(r, -1); prompt.focus(); }
          else if (/^[1-9]$/.test(k) && sprintList && sprintList[+k - 1]) { e.preventDefault(); intoSprint(r, sprintList[+k - 1]); }
        });
      }
      promptRow = row;
      prompt.textContent = "";
      var h = document.createElement("h2");
      h.id = "move-title";
      h.textContent = "Move " + row.dataset.key;
      prompt.appendChild(h);
      var where = document.createElement("div");
      where.className = "move-choices";
      where.appendChild(button("Top", "t", function () { moveTo(row, "top"); }));
      where.appendChild(button("Bottom", "b", function () { moveTo(row, "bottom"); }));
      where.appendChild(button("Down", "j", function () { move(row, 1); }));
      where.appendChild(button("Up", "k", function () { move(row, -1); }));
      prompt.appendChild(where);
      var sp = document.createElement("div");
      sp.className = "move-choices";
      sp.setAttribute("aria-live", "polite");
      sp.textContent = "Sprints…";
      prompt.appendChild(sp);
      var foot = document.createElement("p");
      foot.className = "small muted";
      foot.textContent = "Enter or Esc closes this.";
      prompt.appendChild(foot);
      prompt.tabIndex = -1;
      prompt.show();
      prompt.focus();
      openSprints().then(function (list) {
        sp.textContent = "";
        if (!list.length) { sp.textContent = "No open sprint to move into."; return; }
        list.forEach(function (s, n) { sp.appendChild(button("Into " + s.name, String(n + 1), function () { intoSprint(row, s); })); });
        prompt.dataset.ready = "true";
      }, function () { sp.textContent = "The sprints could not be loaded."; });
    }

    table.addEventListener("keydown", function (e) {
      var row = e.target.closest && e.target.closest("tr[data-key]");
      if (!row || e.target !== row) return;
      if (e.altKey && (e.key === "ArrowUp" || e.key === "ArrowDown")) {
        e.preventDefault();
        move(row, e.key === "ArrowUp" ? -1 : 1);
        return;
      }
      if (e.altKey || e.ctrlKey || e.metaKey) return;
      if (e.key === "m") { e.preventDefault(); e.stopPropagation(); openPrompt(row); return; }
      if (e.key === "ArrowDown" || e.key === "j") { e.preventDefault(); select(nextRow(row)); }
      else if (e.key === "ArrowUp" || e.key === "k") { e.preventDefault(); select(prevRow(row)); }
      else if (e.key === "Enter" || e.key === "o") {
        var a = row.querySelector("a.title-link");
        if (a) { e.preventDefault(); window.location.href = a.href; }
      }
    });
    table.addEventListener("focusin", function (e) {
      var row = e.target.closest && e.target.closest("tr[data-key]");
      if (row) { rows().forEach(function (x) { if (x !== row) x.classList.remove("selected"); }); row.classList.add("selected"); }
    });
    // The plain "move up / down" forms go through the same path as the keyboard.
    table.addEventListener("submit", function (e) {
      var form = e.target;
      var row = form.closest("tr[data-key]");
      if (!row || !/\/move$/.test(form.getAttribute("action") || "")) return;
      e.preventDefault();
      move(row, form.querySelector('input[name="before"]') ? -1 : 1);
    });
    // j / k from anywhere on the page start at the first row.
    document.addEventListener("keydown", function (e) {
      if (typing(e.target) || e.altKey || e.ctrlKey || e.metaKey) return;
      if (table.contains(e.target)) return;
      if (e.key === "j" || e.key === "k") {
        var sel = tbody.querySelector("tr.selected") || rows()[0];
        if (sel) { e.preventDefault(); select(sel); }
      }
    });

    // Drag and drop with pointer events (not HTML5 drag and drop, which neither touch screens
    // nor WebDriver drive well).
    tbody.addEventListener("pointerdown", function (e) {
      var handle = e.target.closest && e.target.closest(".handle");
      if (!handle || e.button !== 0 || busy) return;
      if (table.dataset.reorder === "deny") { toast("You may not reorder this backlog.", true); return; }
      var row = handle.closest("tr[data-key]");
      if (!row) return;
      e.preventDefault();
      try { handle.setPointerCapture(e.pointerId); } catch (err) { /* capture is a nicety */ }
      var restore = restorer(row);
      var startNext = row.nextElementSibling;
      var startIndex = rows().indexOf(row);
      row.classList.add("dragging");
      document.body.classList.add("is-dragging");

      function onMove(ev) {
        var el = document.elementFromPoint(ev.clientX, ev.clientY);
        var over = el && el.closest && el.closest("tr[data-key]");
        if (!over || over === row || over.parentNode !== tbody) return;
        var list = rows();
        var r = over.getBoundingClientRect();
        var mid = r.top + r.height / 2;
        var oi = list.indexOf(over), ri = list.indexOf(row);
        // Only move past a row once the pointer crosses its middle: no flicker at the edge.
        if (oi < ri && ev.clientY < mid) over.before(row);
        else if (oi > ri && ev.clientY > mid) over.after(row);
      }
      function onUp() {
        document.removeEventListener("pointermove", onMove);
        document.removeEventListener("pointerup", onUp);
        document.removeEventListener("pointercancel", onUp);
        row.classList.remove("dragging");
        document.body.classList.remove("is-dragging");
        select(row);
        if (row.nextElementSibling === startNext) return;
        var now = rows().indexOf(row);
        var body = now < startIndex ? { before: nextRow(row).dataset.key } : { after: prevRow(row).dataset.key };
        send(row, body, function () { restore(); select(row); });
      }
      document.addEventListener("pointermove", onMove);
      document.addEventListener("pointerup", onUp);
      document.addEventListener("pointercancel", onUp);
    });

    // "Load more" appends the next page in place.
    document.addEventListener("click", function (e) {
      var a = e.target.closest && e.target.closest("a[data-load-more]");
      if (!a) return;
      e.preventDefault();
      a.setAttribute("aria-busy", "true");
      fetch(a.href, { credentials: "same-origin" }).then(function (r) { return r.text(); }).then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var more = doc.querySelectorAll("#backlog tbody tr[data-key]");
        Array.prototype.forEach.call(more, function (r) { tbody.appendChild(document.importNode(r, true)); });
        // Live updates refresh only the first page; they leave a longer list alone (live.js).
        tbody.dataset.loadedMore = "1";
        var next = doc.querySelector("a[data-load-more]");
        if (next) { a.href = next.href; a.removeAttribute("aria-busy"); } else { a.parentNode.remove(); }
      }).catch(function () { window.location.href = a.href; });
    });
  }

  // ---- In-place changes -------------------------------------------------------------------
  // Frequent changes go through the JSON API without a page load: the page changes at once, and
  // a refusal (403, 409, 422, a lost connection) puts it back and shows the server's reason.
  // Each form still posts when the script is absent. While a change is on its way its form is
  // aria-busy, which live.js respects: a live refresh waits rather than overwrite it.
  function call(method, url, body) {
    var headers = { "Accept": "application/json", "X-CSRF-Token": csrf };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(url, {
      method: method, credentials: "same-origin", headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (r) {
      return r.json().catch(function () { return null; }).then(function (b) {
        return { status: r.status, body: b, etag: r.headers.get("ETag") };
      });
    });
  }

  // Changes that must reach the server in the order they were made (the ticks of one item,
  // each of which sends the whole list) wait for each other here.
  var queue = Promise.resolve();

  // Runs one change: `apply` changes the page and returns the way back; `done(body)` follows a
  // success. `body` may be a function, read when the request leaves (for queued changes). A
  // proposal (202) is not the change itself, so the page goes back and says so.
  function inPlace(busyEl, method, url, body, apply, done, queued, refused) {
    if (busyEl.getAttribute("aria-busy") === "true") return;
    var undo = apply();
    busyEl.setAttribute("aria-busy", "true");
    var root = document.documentElement;
    root.dataset.inplacePending = String((parseInt(root.dataset.inplacePending || "0", 10) || 0) + 1);
    var send = function () { return call(method, url, typeof body === "function" ? body() : body); };
    var req;
    if (queued) {
      req = queue.then(send);
      queue = req.catch(function () { /* the next change goes anyway */ });
    } else {
      req = send();
    }
    return req.then(function (r) {
      if (r.status >= 200 && r.status < 300 && r.status !== 202) {
        if (done) done(r.body, r);
        return true;
      }
      undo();
      if (refused) refused(r);
      if (r.status === 202) {
        toast("Proposed: waiting for a decision" + (r.body && r.body.summary ? " — " + r.body.summary : ""));
      } else {
        toast((r.body && (r.body.detail || r.body.title)) || ("The change was refused (" + r.status + ")."), true);
      }
      return false;
    }, function () {
      undo();
      toast("The change could not be sent; check your connection.", true);
      return false;
    }).then(function (ok) {
      busyEl.removeAttribute("aria-busy");
      root.dataset.inplacePending = String((parseInt(root.dataset.inplacePending, 10) || 1) - 1);
      root.dataset.inplaceDone = String((parseInt(root.dataset.inplaceDone || "0", 10) || 0) + 1);
      root.dataset.inplaceLast = ok ? "ok" : "refused";
      return ok;
    });
  }

  // The header's unread count, drawn as the server draws it.
  function setUnread(n) {
    var link = document.querySelector(".inbox-link");
    if (!link) return;
    var c = document.getElementById("inbox-count");
    link.classList.toggle("has-unread", n > 0);
    if (n <= 0) { if (c) c.remove(); return; }
    if (!c) {
      c = document.createElement("span");
      c.className = "inbox-count";
      c.id = "inbox-count";
      link.appendChild(c);
    }
    c.textContent = String(n);
    var sr = document.createElement("span");
    sr.className = "sr";
    sr.textContent = " unread";
    c.appendChild(sr);
  }
  function unreadNow() {
    var c = document.getElementById("inbox-count");
    return c ? (parseInt(c.textContent, 10) || 0) : 0;
  }
  function setInboxFigure(n) {
    var h = document.getElementById("inbox-unread");
    if (h) { h.dataset.unread = String(n); h.textContent = n + " unread"; }
    var all = document.getElementById("read-all");
    if (all) all.disabled = n <= 0;
  }

  // The item's version the page's next change builds on: every tick form carries it, and the
  // status select. A change based on an older one is refused (409) and rolled back.
  function itemVersion() {
    var i = document.querySelector("input[data-item-version]");
    var n = i ? parseInt(i.value, 10) : NaN;
    return isNaN(n) ? undefined : n;
  }
  function setItemVersion(v) {
    if (v === undefined || v === null || v === "") return;
    v = String(v).replace(/^W\//, "").replace(/"/g, "");
    Array.prototype.forEach.call(document.querySelectorAll("input[data-item-version]"), function (i) { i.value = v; });
    var sel = document.getElementById("status-select");
    if (sel) sel.dataset.version = v;
  }

  // "1 of 3 checked": recounted from the boxes of one list.
  function recount(countId, boxes, word) {
    var el = document.getElementById(countId);
    if (!el) return;
    var on = boxes.filter(function (b) { return b.checked; }).length;
    el.textContent = on + " of " + boxes.length + " " + word;
  }
  function listBoxes(box, attr) {
    var ul = box.closest("ul");
    return Array.prototype.slice.call(ul ? ul.querySelectorAll("input[" + attr + "]") : [box]);
  }

  // Criteria, Definition of Done and hand-ticked Definition of Ready checks on the item page.
  function tick(box) {
    var page = document.getElementById("item-page");
    var key = page && page.dataset.liveKey;
    if (!key) return false;
    var li = box.closest("li");
    var form = box.form;
    var on = box.checked;
    // One change at a time per box: a second click while the first is on its way is undone.
    if (form.getAttribute("aria-busy") === "true") { box.checked = !on; return true; }
    var url, body, attr, countId, word;
    if (box.dataset.criterion) {
      attr = "data-criterion"; countId = "ac-count"; word = "checked";
      url = "/api/v1/items/" + encodeURIComponent(key) + "/criteria/" + encodeURIComponent(box.dataset.criterion);
      // The version is read when the request leaves: queued ticks build on each other's.
      body = function () { return { checked: on, version: itemVersion() }; };
    } else {
      attr = box.dataset.dod ? "data-dod" : "data-dor";
      countId = box.dataset.dod ? "dod-count" : null; word = "ticked";
      var which = box.dataset.dod ? "dod" : "dor";
      url = "/api/v1/items/" + encodeURIComponent(key) + "/checks";
      // The whole list as the page shows it when the request leaves.
      body = function () {
        var b = {};
        b[which] = listBoxes(box, attr).filter(function (x) { return x.checked; })
          .map(function (x) { return Number(x.getAttribute(attr)); });
        b.version = itemVersion();
        return b;
      };
    }
    inPlace(form, box.dataset.criterion ? "PATCH" : "PUT", url, body, function () {
      if (li) li.classList.toggle("checked", on);
      if (countId) recount(countId, listBoxes(box, attr), word);
      return function () {
        box.checked = !on;
        if (li) li.classList.toggle("checked", !on);
        if (countId) recount(countId, listBoxes(box, attr), word);
      };
    }, function (res, r) {
      // The criteria answer carries the new version as ETag, the checks answer in the item.
      setItemVersion(box.dataset.criterion ? r.etag : res && res.version);
      // The stored state is now the page's: a live refresh may swap this part again.
      box.defaultChecked = on;
      // What the server derives from the ticks: whether it may be accepted, and Ready.
      // (Once, after the last of a quick run of ticks.)
      if ((parseInt(document.documentElement.dataset.inplacePending, 10) || 0) <= 1) refreshParts(["#acceptance", "#dor-h"]);
    }, true, function (r) {
      // Someone changed the item since the page was drawn: show it as it now is (with its
      // version), so the next tick builds on that.
      if (r.status === 409 && r.body && r.body.current_version !== undefined) refreshParts(["#item-page"]);
    });
    return true;
  }

  document.addEventListener("submit", function (e) {
    var form = e.target;
    var kind = form.getAttribute && form.getAttribute("data-inplace");
    if (!kind || !window.fetch) return;
    if (kind === "watch") {
      e.preventDefault();
      var btn = form.querySelector("button");
      var input = form.querySelector('input[name="watching"]');
      var on = input.value === "1";
      var draw = function (watching) {
        input.value = watching ? "0" : "1";
        btn.setAttribute("aria-pressed", watching ? "true" : "false");
        btn.textContent = watching ? "Watching · Unwatch" : "Watch";
        if (watching) btn.title = "You are notified of comments and status changes"; else btn.removeAttribute("title");
      };
      inPlace(form, on ? "PUT" : "DELETE", form.dataset.api, undefined, function () {
        draw(on);
        return function () { draw(!on); };
      }, function (b) {
        if (b && typeof b.watching === "boolean") draw(b.watching);
        toast(on ? "You are watching this." : "You stopped watching this.");
      });
    } else if (kind === "sprint-remove") {
      e.preventDefault();
      var row = form.closest("tr");
      var parent = row.parentNode, next = row.nextSibling;
      var count = document.getElementById("sp-item-count");
      inPlace(form, "DELETE", form.dataset.api, undefined, function () {
        row.remove();
        if (count) count.textContent = String(parent.querySelectorAll("tr").length);
        return function () {
          parent.insertBefore(row, next);
          if (count) count.textContent = String(parent.querySelectorAll("tr").length);
          var b = row.querySelector("button");
          if (b) b.focus();
        };
      }, function () {
        toast((row.dataset.rowKey || "The item") + " is back in the backlog.");
        refreshParts([".sp-figures", ".sp-charts"]);
      });
    } else if (kind === "read" || kind === "read-all") {
      e.preventDefault();
      var one = kind === "read";
      var li = one ? form.closest("li[data-note]") : null;
      var rows = one ? [li] : Array.prototype.slice.call(document.querySelectorAll("li[data-note].unread"));
      var before = unreadNow();
      var figure = document.getElementById("inbox-unread");
      var shown = figure ? (parseInt(figure.dataset.unread, 10) || 0) : 0;
      var url = one ? "/api/v1/notifications/" + encodeURIComponent(li.dataset.note) + "/read" : "/api/v1/notifications/read-all";
      inPlace(form, "POST", url, undefined, function () {
        var n = one ? Math.max(0, before - 1) : 0;
        rows.forEach(function (r) { r.classList.remove("unread"); r.classList.add("just-read"); });
        setUnread(n);
        setInboxFigure(one ? Math.max(0, shown - 1) : 0);
        if (one) form.hidden = true;
        return function () {
          rows.forEach(function (r) { r.classList.add("unread"); r.classList.remove("just-read"); });
          setUnread(before);
          setInboxFigure(shown);
          if (one) form.hidden = false;
        };
      }, function () {
        if (one) {
          // The focus was on the button just hidden: keep it in the list.
          var open = li.querySelector(".inbox-btn");
          if (open) open.focus();
        } else {
          document.querySelectorAll("form[data-inplace=read]").forEach(function (f) { f.hidden = true; });
        }
      });
    }
  });

  // Fetches the page again and swaps the parts named (figures a change moves on the server).
  function refreshParts(selectors) {
    fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        selectors.forEach(function (s) {
          var now = document.querySelector(s), fresh = doc.querySelector(s);
          if (now && fresh) now.innerHTML = fresh.innerHTML;
        });
      }).catch(function () { /* the figures catch up on the next load */ });
  }

  // ---- Forms that submit themselves ------------------------------------------------------
  document.addEventListener("change", function (e) {
    var t = e.target;
    var auto = t.closest && t.closest("form[data-autosubmit]");
    if (auto && t.type === "checkbox") {
      if ((t.dataset.criterion || t.dataset.dod || t.dataset.dor) && window.fetch && tick(t)) return;
      auto.requestSubmit ? auto.requestSubmit() : auto.submit();
      return;
    }
    var filters = t.closest && t.closest("form[data-filters]");
    if (filters && t.tagName === "SELECT") filters.requestSubmit ? filters.requestSubmit() : filters.submit();
  });

  // Ctrl/Cmd+Enter submits the form being typed in.
  document.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && e.target.form) {
      e.preventDefault();
      e.target.form.requestSubmit ? e.target.form.requestSubmit() : e.target.form.submit();
    }
  });

  // "e" on an item page opens the edit form; "/" focuses the backlog search.
  document.addEventListener("keydown", function (e) {
    if (typing(e.target) || e.altKey || e.ctrlKey || e.metaKey) return;
    if (e.key === "e") {
      var edit = document.getElementById("edit-link");
      if (edit) { e.preventDefault(); window.location.href = edit.href; }
    } else if (e.key === "/") {
      var q = document.getElementById("f-q");
      if (q) { e.preventDefault(); q.focus(); q.select(); }
    }
  });

  // Copy buttons and read-only secrets.
  document.addEventListener("click", function (e) {
    var b = e.target.closest && e.target.closest("[data-copy]");
    if (!b) return;
    var src = document.querySelector(b.getAttribute("data-copy"));
    if (!src) return;
    src.select();
    if (navigator.clipboard) {
      navigator.clipboard.writeText(src.value).then(function () { toast("Copied."); }, function () { toast("Press Ctrl+C to copy."); });
    }
  });
  document.addEventListener("focusin", function (e) {
    if (e.target.hasAttribute && e.target.hasAttribute("data-select-on-focus")) e.target.select();
  });
})();

// A CSV file chosen for an import is read into the form's text area, where it can be checked
// before it is sent; without script the text area alone does the job.
document.addEventListener("change", (ev) => {
  const input = ev.target;
  if (!(input instanceof HTMLInputElement) || !input.dataset.csvInto || !input.files || !input.files[0]) return;
  const area = document.getElementById(input.dataset.csvInto);
  if (!area) return;
  input.files[0].text().then((t) => { area.value = t; area.focus(); });
});
