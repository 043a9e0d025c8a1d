// Small enhancements of the list and analytics pages; each page works without them.
(function () {
  "use strict";
  var wide = window.matchMedia("(min-width: 721px)");

  // Folded filters are open on a wide screen; on a phone they stay folded under their summary.
  document.querySelectorAll("details[data-open-on-wide]").forEach(function (details) {
    if (wide.matches) details.open = true;
  });

  // The list: select all, the count of selected sessions, and bulk buttons only when something is selected.
  var form = document.getElementById("bulk-form");
  if (form) {
    var boxes = form.querySelectorAll('input[name="session_ids"]');
    var all = form.querySelector("[data-select-all]");
    var count = form.querySelector("[data-selected]");
    var update = function () {
      var selected = 0;
      boxes.forEach(function (box) { if (box.checked) selected++; });
      count.textContent = selected;
      all.checked = selected > 0 && selected === boxes.length;
      all.indeterminate = selected > 0 && selected < boxes.length;
      form.querySelectorAll("[data-needs-selection]").forEach(function (button) { button.disabled = selected === 0; });
    };
    all.addEventListener("change", function () {
      boxes.forEach(function (box) { box.checked = all.checked; });
      update();
    });
    boxes.forEach(function (box) { box.addEventListener("change", update); });
    update();
  }

  // Charts that scroll sideways on a phone open at their right end: the newest periods.
  document.querySelectorAll(".chart-scroll").forEach(function (scroller) {
    scroller.scrollLeft = scroller.scrollWidth;
  });
})();
