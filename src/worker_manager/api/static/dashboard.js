// worker-manager dashboard: refresh the page's content every data-refresh seconds and
// count the epoch down. Plain JavaScript, no build step, nothing fetched but this page.
(function () {
  "use strict";
  var body = document.body;
  var period = parseInt(body.getAttribute("data-refresh") || "0", 10);
  var paused = false;
  var button = document.getElementById("pause");

  function countdown() {
    var el = document.getElementById("countdown");
    if (!el) { return; }
    var left = parseInt(el.getAttribute("data-expires-at"), 10) - Math.floor(Date.now() / 1000);
    el.textContent = Math.max(left, 0) + " s";
  }

  function busy() {
    // never replace the page under a user choosing a filter
    var active = document.activeElement;
    return active && active.form && active.form.id === "filters";
  }

  function refresh() {
    if (paused || busy()) { return; }
    fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (answer) { return answer.ok ? answer.text() : null; })
      .then(function (text) {
        if (text === null || paused || busy()) { return; }
        var fresh = new DOMParser().parseFromString(text, "text/html").getElementById("content");
        var here = document.getElementById("content");
        if (fresh && here) { here.replaceWith(fresh); countdown(); }
      })
      .catch(function () { /* the node is restarting: try again next time */ });
  }

  if (button) {
    button.addEventListener("click", function () {
      paused = !paused;
      button.textContent = paused ? "resume" : "pause";
    });
  }
  setInterval(countdown, 1000);
  if (period > 0) { setInterval(refresh, period * 1000); }
})();
