// The command palette (Ctrl/Cmd+K), fetched by keys.js on its first use. It asks
// GET /api/v1/search as one types (debounced; a newer request cancels the older one) and runs
// actions through the same JSON API and CSRF header as the rest of the UI. No inline code: the
// Content-Security-Policy forbids it.
(function () {
  "use strict";
  var K = window.KeelKeys;
  if (!K || window.KeelPalette) return;
  var body = document.body;
  var product = body.getAttribute("data-product") || "";
  var el = K.el, api = K.api, toast = K.toast, currentItem = K.currentItem, afterChange = K.afterChange;
  var assignToMe = K.assignToMe, newStory = K.newStory, openHelp = K.openHelp;

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

  window.KeelPalette = { open: open };
})();
