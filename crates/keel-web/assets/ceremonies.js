// Ceremonies: the retrospective board votes in place (through the JSON API, shown at once and
// put back if the server refuses) instead of reloading the page. Without this script the vote
// forms post and come back, so the page works the same; behaviour hangs off data-* attributes,
// as the Content-Security-Policy forbids inline code.
(function () {
  "use strict";
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute("content") : "";

  function toast(text, isError) {
    var t = document.getElementById("toast");
    if (!t) return;
    t.textContent = text;
    t.classList.toggle("error", !!isError);
    t.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(function () { t.hidden = true; }, isError ? 7000 : 4000);
  }

  // Stand-up: the arrow keys page through the days, as the meeting's screen is often driven
  // from across the room.
  var standup = document.getElementById("standup-prev");
  if (standup) {
    document.addEventListener("keydown", function (ev) {
      var t = ev.target;
      if (ev.altKey || ev.ctrlKey || ev.metaKey || (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT"))) return;
      var link = ev.key === "ArrowLeft" ? "standup-prev" : ev.key === "ArrowRight" ? "standup-next" : null;
      if (link) { ev.preventDefault(); window.location.href = document.getElementById(link).href; }
    });
  }

  var board = document.getElementById("retro-board");
  if (!board) return;

  // Reorders one column's cards by votes (most first), keeping creation order among equals.
  function resort(list) {
    var cards = Array.prototype.slice.call(list.querySelectorAll(":scope > li[data-card]"));
    cards.sort(function (a, b) {
      var d = Number(b.dataset.votes) - Number(a.dataset.votes);
      return d !== 0 ? d : Number(a.dataset.card) - Number(b.dataset.card);
    });
    cards.forEach(function (c) { list.appendChild(c); });
  }

  // Draws a card's vote: the count, the pressed state and the button's label.
  function draw(card, button, votes, voted) {
    card.dataset.votes = String(votes);
    var count = button.querySelector("[data-count]");
    if (count) count.textContent = String(votes);
    button.setAttribute("aria-pressed", voted ? "true" : "false");
    button.classList.toggle("voted", !!voted);
    button.setAttribute("title", voted ? "Take back your vote" : "Vote for this card");
  }

  // A vote shows at once; the server's answer settles it, and a refusal puts it back with the
  // server's reason.
  board.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form.matches || !form.matches("form[data-vote]")) return;
    ev.preventDefault();
    var card = form.closest("li[data-card]");
    var button = form.querySelector("button");
    if (!card || !button || form.getAttribute("aria-busy") === "true") return;
    var was = { votes: Number(card.dataset.votes) || 0, voted: button.getAttribute("aria-pressed") === "true" };
    draw(card, button, was.votes + (was.voted ? -1 : 1), !was.voted);
    resort(card.parentNode);
    button.focus();
    form.setAttribute("aria-busy", "true");
    var rollback = function () {
      draw(card, button, was.votes, was.voted);
      resort(card.parentNode);
    };
    fetch("/api/v1/retro-cards/" + encodeURIComponent(card.dataset.card) + "/vote", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRF-Token": csrf }
    }).then(function (res) {
      return res.json().then(function (body) { return { status: res.status, body: body }; }, function () {
        return { status: res.status, body: null };
      });
    }).then(function (r) {
      if (r.status !== 200 || !r.body) {
        rollback();
        toast((r.body && (r.body.detail || r.body.title)) || ("The vote was refused (" + r.status + ")."), true);
        board.dataset.refused = String(Number(board.dataset.refused || "0") + 1);
        return;
      }
      draw(card, button, r.body.votes, r.body.voted);
      board.dataset.votes = String(Number(board.dataset.votes || "0") + 1);
      resort(card.parentNode);
    }, function () {
      rollback();
      toast("The vote could not be sent; check your connection.", true);
      board.dataset.refused = String(Number(board.dataset.refused || "0") + 1);
    }).then(function () {
      form.removeAttribute("aria-busy");
      if (document.activeElement === document.body) button.focus();
    });
  });

  // Ctrl+Enter in a card's text box adds the card.
  board.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey) && ev.target.tagName === "TEXTAREA") {
      ev.preventDefault();
      var f = ev.target.form;
      if (f) { if (f.requestSubmit) f.requestSubmit(); else f.submit(); }
    }
  });
})();
