// Copy buttons: every code block gets one, and the buttons the page already holds (a message's text,
// a new share link) are shown. Without JavaScript the page reads the same, minus the buttons.
(function () {
  "use strict";
  var COPY_ICON = '<svg class="icon" viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" focusable="false" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"><rect x="9" y="9" width="13" height="13" rx="2"/><path d="M5 15H4a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2h9a2 2 0 0 1 2 2v1"/></svg>';

  function fallbackCopy(text) {
    // Pages served over plain HTTP to another machine have no navigator.clipboard.
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    var done = false;
    try { done = document.execCommand("copy"); } catch (error) { done = false; }
    area.remove();
    return done ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () { return fallbackCopy(text); });
    }
    return fallbackCopy(text);
  }

  function textFor(button) {
    if (button.dataset.copyText !== undefined) return button.dataset.copyText;
    if (button.dataset.copyFrom) {
      var turn = document.getElementById(button.dataset.copyFrom);
      var content = turn && turn.querySelector(":scope > .content");
      return content ? content.innerText.trim() : "";
    }
    var block = button.closest(".codehilite");
    var code = block && block.querySelector("pre");
    return code ? code.innerText.replace(/\n$/, "") : "";
  }

  function announce(button, label) {
    var original = button.getAttribute("aria-label") || button.textContent.trim();
    button.dataset.state = label;
    button.setAttribute("aria-label", label);
    var status = document.getElementById("copy-status");
    if (status) status.textContent = label;
    setTimeout(function () {
      delete button.dataset.state;
      button.setAttribute("aria-label", original);
    }, 1500);
  }

  function addCodeButtons(root) {
    root.querySelectorAll(".codehilite").forEach(function (block) {
      if (block.querySelector(":scope > .code-copy")) return;
      var button = document.createElement("button");
      button.type = "button";
      button.className = "icon-button copy-button code-copy";
      button.title = "Copy code";
      button.setAttribute("aria-label", "Copy code");
      button.innerHTML = COPY_ICON;
      block.insertBefore(button, block.firstChild);
    });
    root.querySelectorAll(".copy-button[hidden]").forEach(function (button) { button.hidden = false; });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest(".copy-button");
    if (!button) return;
    copy(textFor(button)).then(
      function () { announce(button, "Copied"); },
      function () { announce(button, "Copy failed: select the text and copy it"); }
    );
  });

  var status = document.createElement("p");
  status.id = "copy-status";
  status.className = "visually-hidden";
  status.setAttribute("role", "status");
  document.body.appendChild(status);
  addCodeButtons(document);
  // Messages that arrive live (live-messages.js) get their buttons too.
  var conversation = document.getElementById("conversation");
  if (conversation) {
    new MutationObserver(function () { addCodeButtons(conversation); }).observe(conversation, {childList: true});
  }
})();
