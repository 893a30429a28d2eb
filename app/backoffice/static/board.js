// The board follows the terminals without a reload: every few seconds it fetches the table
// (an HTML fragment, with the page's own cookie) and swaps it in. Without script, the page's
// Refresh link does the same by hand.
(function () {
  "use strict";
  var board = document.getElementById("board");
  if (!board || !window.fetch) return;
  var url = board.getAttribute("data-refresh");
  var every = 3000;

  function refresh() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        // Signed out (sent to the sign-in page): show it rather than stale figures.
        if (response.redirected) {
          window.location.reload();
          return null;
        }
        if (!response.ok) throw new Error(response.status);
        return response.text();
      })
      .then(function (html) {
        if (html === null) return;
        board.innerHTML = html;
        setTimeout(refresh, every);
      })
      .catch(function () {
        setTimeout(refresh, every * 5); // the box restarting: try again a little later
      });
  }
  setTimeout(refresh, every);
})();
