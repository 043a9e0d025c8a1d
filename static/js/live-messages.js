// Live conversation: polls the messages API for anything after the last shown seq, then fetches
// those messages rendered by the server (the same sanitised Markdown as the page) and appends them.
(function () {
  "use strict";
  var list = document.getElementById("conversation");
  if (!list || !list.dataset.apiUrl) return;
  var POLL_MS = 1500;
  var busy = false;

  function lastSeq() { return list.dataset.lastSeq || "0"; }

  function appendRendered(html) {
    var before = list.children.length;
    list.insertAdjacentHTML("beforeend", html);
    for (var i = before; i < list.children.length; i++) list.children[i].classList.add("is-new");
    var turns = list.querySelectorAll("li[data-seq]");
    if (turns.length) list.dataset.lastSeq = turns[turns.length - 1].dataset.seq;
    var empty = document.getElementById("no-messages");
    if (empty) empty.remove();
    var count = document.getElementById("message-count");
    if (count) count.textContent = list.dataset.lastSeq;
  }

  function poll() {
    if (busy || document.hidden) return;
    busy = true;
    var seq = lastSeq();
    fetch(list.dataset.apiUrl + "?page_size=1&after_seq=" + seq, {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (response) { return response.ok ? response.json() : {count: 0}; })
      .then(function (page) {
        if (!page.count) return null;
        return fetch(list.dataset.pollUrl + "?after_seq=" + seq, {credentials: "same-origin"})
          .then(function (response) { return response.ok ? response.text() : ""; })
          .then(function (html) { if (html.trim() && lastSeq() === seq) appendRendered(html); });
      })
      .catch(function () { /* offline for a moment: the next poll tries again */ })
      .then(function () { busy = false; });
  }

  setInterval(poll, POLL_MS);
  document.addEventListener("visibilitychange", poll);
})();
