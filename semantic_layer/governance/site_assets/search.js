// Filters the catalogue's metric list as one types: every word typed must appear in a metric's
// name, label, synonyms or description (any case; Chinese words match as written). No network.
(function () {
  "use strict";
  var box = document.getElementById("search");
  var rows = Array.prototype.slice.call(document.querySelectorAll("[data-terms]"));
  var count = document.getElementById("count");
  function normal(text) {
    return text.toLocaleLowerCase().replace(/[\s_\-]+/g, " ").trim();
  }
  var terms = rows.map(function (row) { return normal(row.getAttribute("data-terms")); });
  function filter() {
    var words = normal(box.value).split(" ").filter(Boolean);
    var shown = 0;
    rows.forEach(function (row, i) {
      var match = words.every(function (word) { return terms[i].indexOf(word) !== -1; });
      row.hidden = !match;
      if (match) { shown += 1; }
    });
    count.textContent = shown === rows.length ? rows.length + " metrics" : shown + " of " + rows.length + " metrics";
  }
  box.addEventListener("input", filter);
  var asked = new URLSearchParams(window.location.search).get("q");
  if (asked) { box.value = asked; }
  filter();
})();
