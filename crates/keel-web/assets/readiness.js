// Keel: the backlog's bulk bar. Without this script the bar works as a plain form; with it, a
// header box selects every row shown, the bar counts the selection, and "Apply" waits for one.
// No inline script (the Content-Security-Policy forbids it): behaviour hangs off ids and names.
(function () {
  "use strict";
  var form = document.getElementById("bulk-form");
  if (!form) return;
  var all = document.getElementById("bulk-all");
  var count = document.getElementById("bulk-count");
  var apply = document.getElementById("bulk-apply");

  function boxes() {
    return Array.prototype.slice.call(document.querySelectorAll('input[name="keys"][form="bulk-form"]'));
  }

  function update() {
    var list = boxes();
    var n = list.filter(function (b) { return b.checked; }).length;
    var text = n === 1 ? "1 selected:" : n + " selected:";
    // Only when it changes: the observer below would otherwise see its own write.
    if (count && count.textContent !== text) count.textContent = text;
    if (apply) apply.disabled = n === 0;
    if (all) {
      all.checked = n > 0 && n === list.length;
      all.indeterminate = n > 0 && n < list.length;
    }
    var rows = document.querySelectorAll("#backlog tbody tr[data-key]");
    Array.prototype.forEach.call(rows, function (r) {
      var b = r.querySelector('input[name="keys"]');
      r.classList.toggle("bulk-selected", !!(b && b.checked));
    });
  }

  if (all) {
    all.hidden = false;
    all.addEventListener("change", function () {
      boxes().forEach(function (b) { b.checked = all.checked; });
      update();
    });
  }
  document.addEventListener("change", function (e) {
    if (e.target && e.target.name === "keys") update();
  });
  // Rows added by "Load more" arrive unticked; keep the count right.
  var body = document.querySelector("#backlog tbody");
  if (body) new MutationObserver(update).observe(body, { childList: true });
  form.addEventListener("submit", function (e) {
    if (!boxes().some(function (b) { return b.checked; })) e.preventDefault();
  });
  update();
})();
