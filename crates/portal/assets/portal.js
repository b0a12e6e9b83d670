// dirsync portal: copy buttons and live updates. Every page works without this script.
(function () {
  "use strict";

  // Copy buttons: shown only when the script runs; copy the named field's value.
  document.querySelectorAll("button.copy[data-copy]").forEach(function (button) {
    button.hidden = false;
    var label = button.textContent;
    button.addEventListener("click", function () {
      var field = document.getElementById(button.getAttribute("data-copy"));
      if (!field) { return; }
      var done = function () {
        button.textContent = document.body.getAttribute("data-copied") || label;
        setTimeout(function () { button.textContent = label; }, 2000);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(done, function () {
          field.select();
        });
      } else {
        field.select();
        try { document.execCommand("copy"); done(); } catch (e) { /* selected for manual copy */ }
      }
    });
  });

  function get(url, then) {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html !== null) { then(html); } })
      .catch(function () { /* try again on the next tick */ });
  }

  // Setup: the verification panel refreshes until the page is left.
  var verify = document.getElementById("verify");
  if (verify && verify.getAttribute("data-poll")) {
    setInterval(function () {
      get(verify.getAttribute("data-poll"), function (html) {
        if (html !== verify.innerHTML) { verify.innerHTML = html; }
      });
    }, 2000);
  }

  // Sync log: rows newer than the newest shown are put on top.
  var rows = document.getElementById("log-rows");
  if (rows && rows.getAttribute("data-live")) {
    setInterval(function () {
      var first = rows.querySelector("tr[data-id]");
      var url = rows.getAttribute("data-live");
      if (first) { url += (url.slice(-1) === "?" ? "" : "&") + "after=" + encodeURIComponent(first.getAttribute("data-id")); }
      get(url, function (html) {
        if (!html.trim()) { return; }
        if (first) {
          rows.insertAdjacentHTML("afterbegin", html);
        } else {
          rows.innerHTML = html;
        }
        var empty = document.getElementById("log-empty");
        if (empty) { empty.remove(); }
      });
    }, 3000);
  }
})();
