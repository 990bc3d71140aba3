// The keyboard shortcuts (? lists them), the theme switch and the loader of the command
// palette, on every page. The palette itself (palette.js) is fetched on its first use: Ctrl/Cmd+K,
// `/` where the page has no filter of its own, `s` on an item, or the Search button. No inline
// code: the Content-Security-Policy forbids it.
(function () {
  "use strict";
  var body = document.body;
  var product = body.getAttribute("data-product") || "";
  var me = body.getAttribute("data-user") || "";
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute("content") : "";

  function typing(el) {
    if (!el || !el.tagName) return false;
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }

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

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text != null) e.textContent = text;
    return e;
  }

  function api(method, url, data) {
    var init = { method: method, credentials: "same-origin", headers: { "Accept": "application/json" } };
    if (data !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(data);
    }
    if (method !== "GET") init.headers["X-CSRF-Token"] = csrf;
    return fetch(url, init).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (j) { return { status: res.status, body: j }; });
    });
  }

  // ---- Theme ---------------------------------------------------------------------------
  var themeSel = document.getElementById("theme-switch");
  function storedTheme() {
    try { return window.localStorage.getItem("keel-theme") || "auto"; } catch (e) { return "auto"; }
  }
  if (themeSel) {
    themeSel.value = storedTheme();
    themeSel.addEventListener("change", function () {
      var v = themeSel.value;
      try {
        if (v === "auto") window.localStorage.removeItem("keel-theme");
        else window.localStorage.setItem("keel-theme", v);
      } catch (e) { /* the choice then lasts for this page only */ }
      if (v === "auto") document.documentElement.removeAttribute("data-theme");
      else document.documentElement.setAttribute("data-theme", v);
    });
  }

  // ---- The item the actions apply to ------------------------------------------------------
  // On an item page, that item; on a list, its selected row.
  function currentItem() {
    var m = /^\/items\/([A-Za-z0-9]+-[0-9]+)(?:\/|$)/.exec(window.location.pathname);
    if (m) return m[1];
    var sel = document.querySelector("tr.selected[data-key], [data-key].selected, [data-key]:focus");
    return sel ? sel.getAttribute("data-key") : null;
  }

  function afterChange(r, done) {
    if (r.status === 200 || r.status === 201) {
      toast(done);
      // Pages render on the server: show the change where it is visible.
      setTimeout(function () { window.location.reload(); }, 400);
    } else if (r.status === 202) {
      toast("Proposed: waiting for a decision" + (r.body && r.body.summary ? " — " + r.body.summary : ""));
    } else {
      toast((r.body && (r.body.detail || r.body.title)) || ("The change failed (" + r.status + ")."), true);
    }
  }

  function assignToMe(key) {
    if (!me) return;
    return api("PATCH", "/api/v1/items/" + encodeURIComponent(key), { assignee: me }).then(function (r) {
      afterChange(r, key + " is now assigned to you.");
    }, function () { toast("The change could not be sent; check your connection.", true); });
  }

  function newStory() {
    var qa = document.getElementById("qa-title-top") || document.getElementById("qa-title-bottom");
    if (qa) { qa.focus(); return; }
    if (product) window.location.href = "/products/" + encodeURIComponent(product) + "/backlog#new";
  }
  if (window.location.hash === "#new") {
    var qa0 = document.getElementById("qa-title-top") || document.getElementById("qa-title-bottom");
    if (qa0) qa0.focus();
  }

  // ---- The palette, loaded on first use -------------------------------------------------
  var openBtn = document.getElementById("palette-open");
  var paletteSrc = openBtn ? openBtn.getAttribute("data-src") : "";
  var loading = null, queued = "search";
  function open(mode) {
    if (window.KeelPalette) { window.KeelPalette.open(mode); return; }
    queued = mode || "search";
    if (loading || !paletteSrc) return;
    loading = document.createElement("script");
    loading.src = paletteSrc;
    loading.addEventListener("load", function () { if (window.KeelPalette) window.KeelPalette.open(queued); });
    loading.addEventListener("error", function () {
      loading.parentNode.removeChild(loading);
      loading = null;
      toast("The command palette could not be loaded; check your connection.", true);
    });
    document.head.appendChild(loading);
  }
  if (openBtn) openBtn.addEventListener("click", function () { open(); });

  // ---- Help overlay --------------------------------------------------------------------
  var SHORTCUTS = [
    ["Ctrl K", "Command palette (also ⌘ K)"],
    ["?", "This list"],
    ["/", "Search (the backlog filter, or the palette)"],
    ["c", "Create: new story"],
    ["j / k", "Move the selection in a list"],
    ["Enter", "Open the selected item"],
    ["Alt ↑ / Alt ↓", "Move the selected item in the backlog"],
    ["m", "Move the selected backlog item: top, bottom, up / down, into a sprint"],
    ["Shift ← / Shift →", "Move the focused card to the next column on the board"],
    ["e", "Edit the item"],
    ["a", "Assign the item to me"],
    ["s", "Change the item's status"],
    ["g then h", "Go to the product's home"],
    ["g then b", "Go to the backlog"],
    ["g then s", "Go to the sprint board"],
    ["g then r", "Go to the roadmap"],
    ["Esc", "Close a dialog"]
  ];
  var help = null, helpOpener = null;
  function openHelp() {
    if (!help) {
      help = el("dialog", { "class": "help-dialog", id: "help", role: "dialog", "aria-modal": "true", "aria-labelledby": "help-title" });
      help.appendChild(el("h2", { id: "help-title" }, "Keyboard shortcuts"));
      var dl = el("dl", { "class": "help-keys" });
      SHORTCUTS.forEach(function (s) {
        var dt = el("dt");
        s[0].split(" ").forEach(function (k, n) {
          if (n) dt.appendChild(document.createTextNode(" "));
          if (k === "/" && s[0] !== "/" || k === "then") dt.appendChild(el("span", { "class": "faint" }, k));
          else dt.appendChild(el("kbd", null, k));
        });
        dl.appendChild(dt);
        dl.appendChild(el("dd", null, s[1]));
      });
      help.appendChild(dl);
      help.appendChild(el("p", { "class": "small muted" }, "Keys are ignored while you type in a field."));
      var close = el("button", { type: "button", "class": "btn small", id: "help-close" }, "Close");
      close.addEventListener("click", function () { help.close(); });
      help.appendChild(close);
      help.addEventListener("close", function () {
        if (helpOpener && document.contains(helpOpener)) helpOpener.focus();
        helpOpener = null;
      });
      help.addEventListener("click", function (e) { if (e.target === help) help.close(); });
      body.appendChild(help);
    }
    if (help.open) return;
    helpOpener = document.activeElement;
    help.showModal();
    help.querySelector("#help-close").focus();
  }
  var helpBtn = document.getElementById("help-open");
  if (helpBtn) helpBtn.addEventListener("click", openHelp);

  // What the palette shares with this script.
  window.KeelKeys = {
    api: api, toast: toast, el: el, currentItem: currentItem, afterChange: afterChange,
    assignToMe: assignToMe, newStory: newStory, openHelp: openHelp
  };

  // ---- Shortcuts -----------------------------------------------------------------------
  var pendingG = false, gTimer = null;
  function go(path) {
    if (!product) { window.location.href = "/"; return; }
    window.location.href = "/products/" + encodeURIComponent(product) + path;
  }
  // j / k on the board walk its cards in reading order (the backlog and sprint plan have their own).
  function moveCard(e, step) {
    var cards = Array.prototype.slice.call(document.querySelectorAll(".bd-card[data-key]"));
    if (!cards.length) return;
    e.preventDefault();
    var i = cards.indexOf(document.activeElement);
    var next = cards[i < 0 ? 0 : Math.max(0, Math.min(cards.length - 1, i + step))];
    next.focus();
  }
  document.addEventListener("keydown", function (e) {
    if ((e.ctrlKey || e.metaKey) && !e.altKey && (e.key === "k" || e.key === "K")) {
      e.preventDefault();
      open();
      return;
    }
    if (e.defaultPrevented || typing(e.target) || e.altKey || e.ctrlKey || e.metaKey) return;
    if (help && help.open) return;
    if (document.querySelector("dialog[open]")) return;
    if (pendingG) {
      pendingG = false;
      clearTimeout(gTimer);
      var dest = { h: "", b: "/backlog", s: "/board", r: "/roadmap" }[e.key];
      if (dest !== undefined) { e.preventDefault(); go(dest); }
      return;
    }
    var key;
    switch (e.key) {
      case "?": e.preventDefault(); openHelp(); break;
      case "g": pendingG = true; gTimer = setTimeout(function () { pendingG = false; }, 1200); break;
      case "c": if (product) { e.preventDefault(); newStory(); } break;
      case "a": key = currentItem(); if (key) { e.preventDefault(); assignToMe(key); } break;
      case "s": key = currentItem(); if (key) { e.preventDefault(); open("status"); } break;
      case "/": if (!document.getElementById("f-q")) { e.preventDefault(); open(); } break;
      case "j": case "k": moveCard(e, e.key === "j" ? 1 : -1); break;
    }
  });
})();