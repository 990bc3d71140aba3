// The planning-poker room, live. The page works with plain forms; this script listens to the
// room's Server-Sent Events (/api/v1/items/{key}/poker/events) and, whenever the round's version
// changes, swaps in the server-rendered live part (/items/{key}/poker/live), so every person in
// the room sees votes arrive and cards turn over without reloading. Forms marked data-api are
// sent to the JSON API instead of reloading the page. No inline code: the CSP forbids it.
(function () {
  "use strict";
  var room = document.getElementById("poker-room");
  if (!room) return;

  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute("content") : "";
  var liveUrl = room.getAttribute("data-live");
  var eventsUrl = room.getAttribute("data-events");
  var inFlight = false;
  var again = false;
  room.dataset.updates = "0";

  var toastTimer = null;
  function toast(text, isError) {
    var t = document.getElementById("toast");
    if (!t) return;
    t.textContent = text;
    t.classList.toggle("error", !!isError);
    t.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { t.hidden = true; }, isError ? 7000 : 4000);
  }

  function current() { return document.getElementById("poker-live"); }

  // Replaces the live part with a fresh rendering, keeping keyboard focus on the same control.
  function refresh() {
    if (inFlight) { again = true; return; }
    inFlight = true;
    var focused = document.activeElement;
    var focusKey = focused && room.contains(focused)
      ? (focused.getAttribute("data-card") ? '[data-card="' + focused.getAttribute("data-card") + '"]' : (focused.id ? "#" + focused.id : null))
      : null;
    fetch(liveUrl, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (res) {
        if (!res.ok) throw new Error("status " + res.status);
        return res.text();
      })
      .then(function (html) {
        var tpl = document.createElement("template");
        tpl.innerHTML = html.trim();
        var fresh = tpl.content.querySelector("#poker-live");
        var old = current();
        if (fresh && old) {
          old.replaceWith(fresh);
          room.dataset.updates = String(Number(room.dataset.updates || "0") + 1);
          if (focusKey) {
            var f = fresh.querySelector(focusKey);
            if (f) f.focus();
          }
        }
      })
      .catch(function () { /* the next event or the reconnect tries again */ })
      .then(function () {
        inFlight = false;
        if (again) { again = false; refresh(); }
      });
  }

  // Sends a room form to the JSON API; the answer (and everyone else's) arrives as an event,
  // but the sender refreshes at once for a snappy feel.
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!(form instanceof HTMLFormElement) || !room.contains(form) || !form.hasAttribute("data-api")) return;
    e.preventDefault();
    var body = {};
    var submitter = e.submitter;
    if (submitter && submitter.name === "card") body.card = submitter.value;
    var est = form.querySelector('[name="estimate"]');
    if (est) {
      var v = Number(String(est.value).trim().replace(",", "."));
      if (String(est.value).trim() === "" || isNaN(v)) { toast("Estimate: must be a number of points", true); est.focus(); return; }
      body.estimate = v;
    }
    var hasBody = Object.keys(body).length > 0;
    var headers = { "Accept": "application/json", "X-CSRF-Token": csrf };
    if (hasBody) headers["Content-Type"] = "application/json";
    room.setAttribute("aria-busy", "true");
    fetch(form.getAttribute("data-api"), {
      method: "POST",
      credentials: "same-origin",
      headers: headers,
      body: hasBody ? JSON.stringify(body) : undefined
    }).then(function (res) {
      if (res.status === 202) {
        toast("Proposed: the estimate waits for a decider.");
      } else if (!res.ok) {
        return res.json().then(function (p) {
          toast((p && (p.detail || p.title)) || "That did not work", true);
        }, function () { toast("That did not work", true); });
      }
    }).catch(function () {
      toast("Could not reach the server; try again.", true);
    }).then(function () {
      room.removeAttribute("aria-busy");
      refresh();
    });
  });

  if (!window.EventSource) {
    // Very old browsers: poll instead.
    setInterval(refresh, 2000);
    return;
  }
  // The small "Live" badge next to the title says whether updates are flowing.
  var conn = document.getElementById("poker-conn");
  function connected(on) {
    room.dataset.connected = on ? "1" : "0";
    if (!conn) return;
    conn.hidden = false;
    conn.classList.toggle("on", on);
    conn.querySelector(".live-text").textContent = on ? "Live" : "Reconnecting…";
  }
  var lostTimer = null;
  function up() { clearTimeout(lostTimer); lostTimer = null; connected(true); }
  var source = new EventSource(eventsUrl, { withCredentials: true });
  source.addEventListener("open", up);
  source.addEventListener("round", function (ev) {
    up();
    var data;
    try { data = JSON.parse(ev.data); } catch (err) { return; }
    var live = current();
    if (!live || String(data.version) !== live.getAttribute("data-version")) refresh();
  });
  source.addEventListener("error", function () {
    // EventSource reconnects by itself: the server ends each stream after half a minute, and
    // the reconnect takes a second. Only a longer gap is worth showing.
    if (!lostTimer) lostTimer = setTimeout(function () { connected(false); }, 3000);
  });
  window.addEventListener("pagehide", function () { source.close(); });
})();
