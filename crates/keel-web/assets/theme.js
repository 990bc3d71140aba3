// Applies the theme chosen in the header (Light or Dark; Auto follows the system) before the
// first paint, so a dark page never flashes white. Loaded blocking in <head>; nothing else here.
(function () {
  "use strict";
  var root = document.documentElement;
  root.classList.add("js");
  var t = null;
  try { t = window.localStorage.getItem("keel-theme"); } catch (e) { /* storage may be off */ }
  if (t === "light" || t === "dark") root.setAttribute("data-theme", t);
})();
