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

  // The open details and the focused row of a panel, by row id, so that a refresh neither
  // closes what the admin opened nor drops a keyboard user's focus to the top of the page.
  function rowId(el) {
    var row = el && el.closest ? el.closest("tr[data-id]") : null;
    return row ? row.getAttribute("data-id") : null;
  }
  function rowDetails(panel, id) {
    var rows = panel.querySelectorAll("tr[data-id]");
    for (var i = 0; i < rows.length; i++) {
      if (rows[i].getAttribute("data-id") === id) { return rows[i].querySelector("details"); }
    }
    return null;
  }
  function replace(panel, html) {
    var open = [];
    panel.querySelectorAll("tr[data-id] details[open]").forEach(function (d) { open.push(rowId(d)); });
    var active = document.activeElement;
    var hadFocus = panel.contains(active);
    var focusedRow = hadFocus ? rowId(active) : null;
    panel.innerHTML = html;
    open.forEach(function (id) {
      var d = rowDetails(panel, id);
      if (d) { d.open = true; }
    });
    if (hadFocus) {
      var d = focusedRow && rowDetails(panel, focusedRow);
      var target = d ? d.querySelector("summary") : panel;
      target.focus();
    }
  }

  // Setup: the verification panel refreshes until the page is left, when the server's view of
  // it changed (not when the admin opened a row's details).
  var verify = document.getElementById("verify");
  if (verify && verify.getAttribute("data-poll")) {
    // What the server sent last; the first poll replaces the page's copy once (the browser
    // serialises markup its own way), keeping what is open and focused.
    var shown = verify.innerHTML;
    setInterval(function () {
      get(verify.getAttribute("data-poll"), function (html) {
        if (html !== shown) {
          shown = html;
          replace(verify, html);
        }
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
