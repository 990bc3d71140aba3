// The command palette (Ctrl/Cmd+K), the keyboard shortcuts (? lists them) and the theme switch,
// on every page. The palette asks GET /api/v1/search as one types (debounced; a newer request
// cancels the older one) and runs actions through the same JSON API and CSRF header as the
// rest of the UI. No inline code: the Content-Security-Policy forbids it.
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

  function setStatus(key, status) {
    return api("PATCH", "/api/v1/items/" + encodeURIComponent(key), { status: status }).then(function (r) {
      afterChange(r, key + " is now " + status + ".");
    }, function () { toast("The change could not be sent; check your connection.", true); });
  }

  // The active sprint of the item's product: the first active sprint of any of its teams.
  function moveToActiveSprint(key) {
    var p = key.replace(/-[0-9]+$/, "");
    return api("GET", "/api/v1/products/" + encodeURIComponent(p) + "/teams").then(function (r) {
      var teams = Array.isArray(r.body) ? r.body : [];
      return teams.reduce(function (chain, t) {
        return chain.then(function (found) {
          if (found) return found;
          return api("GET", "/api/v1/teams/" + t.id + "/sprints").then(function (s) {
            var list = Array.isArray(s.body) ? s.body : [];
            return list.filter(function (x) { return x.state === "active"; })[0] || null;
          });
        });
      }, Promise.resolve(null));
    }).then(function (sprint) {
      if (!sprint) { toast("No sprint is active in " + p + ".", true); return; }
      return api("POST", "/api/v1/sprints/" + sprint.id + "/items", { key: key }).then(function (r) {
        afterChange(r, key + " is now in " + sprint.name + ".");
      });
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

  // ---- Palette -------------------------------------------------------------------------
  var dlg = null, input = null, list = null, status = null;
  var entries = [], active = -1, opener = null, timer = null, ctrl = null, mode = "search", seq = 0;

  function build() {
    dlg = el("dialog", { "class": "palette", id: "palette", role: "dialog", "aria-modal": "true", "aria-labelledby": "palette-label" });
    var form = el("form", { method: "dialog", "class": "palette-form", role: "search" });
    var label = el("label", { "for": "palette-input", id: "palette-label", "class": "sr" }, "Search items, pages, products and actions");
    input = el("input", {
      id: "palette-input", type: "text", autocomplete: "off", spellcheck: "false", maxlength: "200",
      role: "combobox", "aria-expanded": "true", "aria-controls": "palette-list", "aria-autocomplete": "list",
      placeholder: "Type a key, words, a page or an action…"
    });
    list = el("ul", { id: "palette-list", role: "listbox", "aria-label": "Results", "class": "palette-list" });
    status = el("p", { "class": "palette-status small muted", role: "status", "aria-live": "polite" });
    var foot = el("p", { "class": "palette-foot small faint" });
    foot.innerHTML = "<kbd>↑</kbd> <kbd>↓</kbd> choose · <kbd>Enter</kbd> open · <kbd>Esc</kbd> close";
    form.appendChild(label);
    form.appendChild(input);
    dlg.appendChild(form);
    dlg.appendChild(list);
    dlg.appendChild(status);
    dlg.appendChild(foot);
    body.appendChild(dlg);

    input.addEventListener("input", function () { schedule(); });
    input.addEventListener("keydown", function (e) {
      if (e.key === "ArrowDown") { e.preventDefault(); setActive(active + 1); }
      else if (e.key === "ArrowUp") { e.preventDefault(); setActive(active - 1); }
      else if (e.key === "Home" && e.ctrlKey) { e.preventDefault(); setActive(0); }
      else if (e.key === "End" && e.ctrlKey) { e.preventDefault(); setActive(entries.length - 1); }
      else if (e.key === "Enter") { e.preventDefault(); choose(active); }
      else if (e.key === "Backspace" && input.value === "" && mode !== "search") { e.preventDefault(); mode = "search"; refresh(); }
    });
    list.addEventListener("mousedown", function (e) { e.preventDefault(); });
    list.addEventListener("click", function (e) {
      var li = e.target.closest && e.target.closest("li[data-i]");
      if (li) choose(parseInt(li.getAttribute("data-i"), 10));
    });
    dlg.addEventListener("close", function () {
      if (ctrl) ctrl.abort();
      clearTimeout(timer);
      if (opener && document.contains(opener)) opener.focus();
      opener = null;
    });
    // Focus stays in the palette: the input is the one thing to focus inside it.
    dlg.addEventListener("keydown", function (e) {
      if (e.key === "Tab") { e.preventDefault(); input.focus(); }
    });
    // A click on the backdrop closes it.
    dlg.addEventListener("click", function (e) { if (e.target === dlg) dlg.close(); });
  }

  function open(startMode) {
    if (!dlg) build();
    if (dlg.open) { input.focus(); return; }
    opener = document.activeElement;
    mode = startMode || "search";
    input.value = "";
    dlg.showModal();
    input.focus();
    refresh();
  }

  function setActive(i) {
    if (!entries.length) { active = -1; input.removeAttribute("aria-activedescendant"); return; }
    active = (i + entries.length) % entries.length;
    Array.prototype.forEach.call(list.children, function (li) {
      var on = li.getAttribute("data-i") === String(active);
      li.setAttribute("aria-selected", on ? "true" : "false");
      li.classList.toggle("active", on);
      if (on) {
        input.setAttribute("aria-activedescendant", li.id);
        if (li.scrollIntoView) li.scrollIntoView({ block: "nearest" });
      }
    });
  }

  function render(groups) {
    entries = [];
    list.textContent = "";
    groups.forEach(function (g) {
      if (!g.items.length) return;
      var head = el("li", { role: "presentation", "class": "palette-group" }, g.title);
      list.appendChild(head);
      g.items.forEach(function (x) {
        var i = entries.length;
        entries.push(x);
        var li = el("li", { role: "option", id: "palette-opt-" + i, "data-i": String(i), "aria-selected": "false", "class": "palette-opt" });
        if (x.key) li.appendChild(el("span", { "class": "palette-key mono" }, x.key));
        li.appendChild(el("span", { "class": "palette-label" }, x.label));
        if (x.hint) li.appendChild(el("span", { "class": "palette-hint small muted" }, x.hint));
        list.appendChild(li);
      });
    });
    status.textContent = entries.length ? entries.length + (entries.length === 1 ? " result" : " results") : "No matches";
    setActive(0);
  }

  function matches(q, text) {
    var hay = text.toLowerCase();
    return q.toLowerCase().split(/\s+/).filter(Boolean).every(function (w) { return hay.indexOf(w) >= 0; });
  }

  function actions(q) {
    var key = currentItem();
    var out = [];
    if (product) out.push({ label: "New story", hint: "c", run: newStory });
    if (key) {
      out.push({ label: "Assign " + key + " to me", hint: "a", run: function () { return assignToMe(key); } });
      out.push({ label: "Move " + key + " to the active sprint", run: function () { return moveToActiveSprint(key); } });
      out.push({ label: "Change the status of " + key + "…", hint: "s", keep: true, run: function () { mode = "status"; input.value = ""; refresh(); } });
    }
    out.push({ label: "Keyboard shortcuts", hint: "?", run: function () { setTimeout(openHelp, 0); } });
    return out.filter(function (a) { return matches(q, a.label); });
  }

  var workflow = null;
  function statuses(q) {
    var key = currentItem();
    if (!key) { mode = "search"; return refresh(); }
    var p = key.replace(/-[0-9]+$/, "");
    var get = workflow ? Promise.resolve(workflow) : api("GET", "/api/v1/products/" + encodeURIComponent(p) + "/workflow").then(function (r) {
      workflow = Array.isArray(r.body) ? r.body : [];
      return workflow;
    });
    get.then(function (states) {
      if (mode !== "status") return;
      render([{
        title: "Status of " + key,
        items: states.filter(function (s) { return matches(q, s.name); }).map(function (s) {
          return { label: s.name, hint: s.category.replace("_", " "), run: function () { return setStatus(key, s.name); } };
        })
      }]);
    });
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 120);
  }

  function refresh() {
    var q = input.value.trim();
    if (mode === "status") { input.setAttribute("placeholder", "Choose a status…"); return statuses(q); }
    input.setAttribute("placeholder", "Type a key, words, a page or an action…");
    if (ctrl) ctrl.abort();
    ctrl = window.AbortController ? new AbortController() : null;
    var mine = ++seq;
    var url = "/api/v1/search?q=" + encodeURIComponent(q) + (product ? "&product=" + encodeURIComponent(product) : "");
    list.setAttribute("aria-busy", "true");
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" }, signal: ctrl ? ctrl.signal : undefined })
      .then(function (r) { return r.ok ? r.json() : { items: [], pages: [], products: [] }; })
      .then(function (d) {
        if (mine !== seq || mode !== "search") return;
        list.removeAttribute("aria-busy");
        var goto = function (url) { return function () { window.location.href = url; }; };
        render([
          { title: "Items", items: (d.items || []).map(function (i) { return { key: i.key, label: i.title, hint: i.status, run: goto("/items/" + encodeURIComponent(i.key)) }; }) },
          { title: "Actions", items: actions(q) },
          { title: "Pages", items: (d.pages || []).map(function (p) { return { label: p.label, hint: product, run: goto(p.url) }; }) },
          { title: "Products", items: (d.products || []).map(function (p) { return { key: p.key, label: p.name, run: goto(p.url) }; }) }
        ]);
      })
      .catch(function (e) {
        if (e && e.name === "AbortError") return;
        if (mine !== seq) return;
        list.removeAttribute("aria-busy");
        render([{ title: "Actions", items: actions(q) }]);
        status.textContent = "Search is unavailable; check your connection.";
      });
  }

  function choose(i) {
    var x = entries[i];
    if (!x) return;
    if (!x.keep) dlg.close();
    x.run();
  }

  var openBtn = document.getElementById("palette-open");
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
    if ((dlg && dlg.open) || (help && help.open)) return;
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
