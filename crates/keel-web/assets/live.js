// Live updates and in-place changes. A page marks the parts that follow the product's changes
// with data-live-region (each with an id); this script opens the product's event stream
// (GET /api/v1/products/{p}/stream, Server-Sent Events) and, when someone else changes
// something, fetches the page again and swaps those parts in, with a quiet "updated by" note.
// The inbox page follows /api/v1/notifications/stream the same way. A part is not swapped while
// the user works in it (focus in a field, a drag, a changed field, a checked box); it is swapped
// when they leave it. No inline code: the Content-Security-Policy forbids it.
(function () {
  "use strict";
  var body = document.body;
  var me = body.dataset.userId || "";
  var product = body.dataset.product || "";
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute("content") : "";

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

  // ---- The "updated by" note -----------------------------------------------------------------
  var note = null, noteTimer = null;
  function showNote(text) {
    if (!note) {
      note = document.createElement("div");
      note.className = "live-note";
      note.id = "live-note";
      note.setAttribute("role", "status");
      note.setAttribute("aria-live", "polite");
      body.appendChild(note);
    }
    note.textContent = text;
    note.classList.add("on");
    clearTimeout(noteTimer);
    noteTimer = setTimeout(function () { note.classList.remove("on"); }, 4000);
  }

  function describe(c) {
    var who = c.actor || "someone";
    var what = c.key || c.object;
    var how = c.field === "created" ? "created" : c.field === "deleted" ? "deleted" : c.field === "rank" ? "moved" : "changed " + c.field;
    return "Updated by " + who + ": " + what + " " + how;
  }

  // ---- Swapping regions ---------------------------------------------------------------------------
  function regions() { return Array.prototype.slice.call(document.querySelectorAll("[data-live-region][id]")); }

  // Whether the user is in the middle of something inside `el` that a swap would lose.
  function working(el) {
    var a = document.activeElement;
    if (a && el.contains(a) && /^(INPUT|TEXTAREA|SELECT)$/.test(a.tagName)) return true;
    if (el.closest("[aria-busy=true]") || el.querySelector("[aria-busy=true], .dragging, .drag-ghost, details[open]")) return true;
    var fields = el.querySelectorAll("input, textarea");
    for (var i = 0; i < fields.length; i++) {
      var f = fields[i];
      if (f.type === "checkbox" || f.type === "radio") { if (f.checked !== f.defaultChecked) return true; }
      else if (f.type !== "hidden" && f.value !== f.defaultValue) return true;
    }
    return false;
  }

  var pending = false, timer = null, inflight = false;
  function schedule(delay) {
    pending = true;
    clearTimeout(timer);
    timer = setTimeout(refresh, delay);
  }

  function refresh() {
    if (inflight) { schedule(500); return; }
    var rs = regions();
    if (rs.some(working)) { schedule(1500); return; }
    pending = false;
    inflight = true;
    fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) {
        if (!r.ok) throw new Error("status " + r.status);
        return r.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var focused = document.activeElement && document.activeElement.id;
        // A keyboard selection (a focused row or card) is by key: find it again after the swap.
        var act = document.activeElement;
        var keyed = act && act !== body && act.closest ? act.closest("[data-key]") : null;
        var focusKey = keyed ? keyed.dataset.key : "";
        var missing = false, stale = false;
        regions().forEach(function (el) {
          if (working(el)) { pending = true; return; }
          // A list grown by "Load more" would shrink back to the first page: keep it, and say so.
          if (el.dataset.loadedMore) { stale = true; return; }
          var fresh = doc.getElementById(el.id);
          if (!fresh) { missing = true; return; }
          if (fresh.innerHTML !== el.innerHTML) el.innerHTML = fresh.innerHTML;
        });
        // The header's inbox count follows too.
        var oldInbox = document.querySelector(".inbox-link"), newInbox = doc.querySelector(".inbox-link");
        if (oldInbox && newInbox) { oldInbox.className = newInbox.className; oldInbox.innerHTML = newInbox.innerHTML; }
        if (focused && document.activeElement === body) {
          var f = document.getElementById(focused);
          if (f) f.focus({ preventScroll: true });
        }
        if (focusKey && (document.activeElement === body || !document.activeElement)) {
          var again = Array.prototype.filter.call(document.querySelectorAll("[data-key]"), function (x) {
            return x.dataset.key === focusKey && x.tabIndex >= 0;
          })[0];
          if (again) again.focus({ preventScroll: true });
        }
        body.dataset.liveRefreshes = String((parseInt(body.dataset.liveRefreshes || "0", 10) || 0) + 1);
        // A part that is not on the fresh page (the page changed shape): the last resort.
        if (missing) window.location.reload();
        if (stale) showNote("Changed by others since this list was loaded: reload to see the changes");
        if (pending) schedule(1500);
      })
      .catch(function () { schedule(5000); })
      .then(function () { inflight = false; });
  }

  // Leaving a part one was working in lets a waiting swap happen.
  document.addEventListener("focusout", function () { if (pending) schedule(300); });

  // ---- The product's stream -------------------------------------------------------------------------
  var itemPage = document.querySelector("[data-live-key]");
  function concerns(c) {
    if (!itemPage) return true;
    // The item page follows its item and the comments (whose target the event does not name).
    return c.key === itemPage.dataset.liveKey || c.object === "comment" || c.object === "poker" || c.object === "question";
  }

  if (window.EventSource && product && document.querySelector("[data-live-region]:not([data-live-inbox])")) {
    var es = new EventSource("/api/v1/products/" + encodeURIComponent(product) + "/stream");
    body.dataset.live = "connecting";
    es.addEventListener("open", function () { body.dataset.live = "open"; });
    es.addEventListener("error", function () { body.dataset.live = "retrying"; });
    // A page left (or kept in the back-forward cache) must give its connection back: a browser
    // keeps six per host over HTTP/1.1, and streams left open would starve the next pages.
    window.addEventListener("pagehide", function () { es.close(); });
    window.addEventListener("pageshow", function (e) { if (e.persisted) window.location.reload(); });
    es.addEventListener("change", function (e) {
      var c;
      try { c = JSON.parse(e.data); } catch (err) { return; }
      // One's own changes are on the page already (they were made in place).
      if (String(c.actor_id) === me || !concerns(c)) return;
      showNote(describe(c));
      schedule(250);
    });
  }

  if (window.EventSource && document.querySelector("[data-live-inbox]")) {
    var first = true, newest = null;
    var inbox = new EventSource("/api/v1/notifications/stream");
    window.addEventListener("pagehide", function () { inbox.close(); });
    inbox.addEventListener("inbox", function (e) {
      var d = {};
      try { d = JSON.parse(e.data) || {}; } catch (err) { /* a bare wake-up */ }
      // The first event is the state the page was drawn with (give or take a moment).
      if (first) { first = false; newest = d.newest; body.dataset.inbox = "open"; return; }
      // Only a newer notification is news; a count that fell is one's own reading.
      if (d.newest === undefined || d.newest !== newest) showNote("New in your inbox");
      newest = d.newest;
      schedule(100);
    });
  }

  // ---- The status, changed in place ---------------------------------------------------------
  document.addEventListener("change", function (e) {
    var sel = e.target;
    if (!sel || sel.id !== "status-select") return;
    var pill = document.getElementById("status-pill");
    var before = { text: pill ? pill.textContent : "", cls: pill ? pill.className : "", value: null };
    var opts = Array.prototype.slice.call(sel.options);
    before.value = (opts.filter(function (o) { return o.defaultSelected; })[0] || opts[0]).value;
    var to = sel.value;
    if (pill) { pill.textContent = to; pill.className = "pill"; }
    sel.setAttribute("aria-busy", "true");
    var rollback = function () {
      sel.value = before.value;
      if (pill) { pill.textContent = before.text; pill.className = before.cls; }
    };
    fetch("/api/v1/items/" + encodeURIComponent(sel.dataset.item), {
      method: "PATCH",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json", "Accept": "application/json",
        "X-CSRF-Token": csrf, "If-Match": sel.dataset.version
      },
      body: JSON.stringify({ status: to })
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (p) {
        if (res.status === 200) {
          sel.dataset.version = String(p.version);
          // The page's other controls (criteria, checks) now build on this version.
          Array.prototype.forEach.call(document.querySelectorAll("input[data-item-version]"), function (i) {
            i.value = String(p.version);
          });
          opts.forEach(function (o) { o.defaultSelected = o.value === p.status; });
          if (pill) {
            pill.textContent = p.status;
            pill.className = "pill " + (/progress/.test(p.status_category) ? "progress" : p.status_category);
          }
          toast(sel.dataset.item + " is now " + p.status + ".");
          return;
        }
        rollback();
        if (res.status === 202) {
          toast("Proposed: waiting for a decision" + (p && p.summary ? " — " + p.summary : ""));
        } else {
          toast((p && (p.detail || p.title)) || ("The change failed (" + res.status + ")."), true);
        }
      });
    }).catch(function () {
      rollback();
      toast("The change could not be sent; check your connection.", true);
    }).then(function () {
      sel.removeAttribute("aria-busy");
    });
  });
})();
