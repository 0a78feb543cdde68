// Offline search over window.DWCONF_INDEX (search-index.js): every map and field of the site.
// A link such as index.html#q=CUSTOMERACCOUNT opens with that search already made.
(function () {
  "use strict";
  var box = document.getElementById("search");
  var list = document.getElementById("results");
  var index = window.DWCONF_INDEX || [];
  var root = window.DWCONF_ROOT || "";

  function show(query) {
    var words = query.toLowerCase().split(/\s+/).filter(Boolean);
    list.textContent = "";
    if (!words.length) { list.hidden = true; return; }
    var found = index.filter(function (e) {
      var text = (e.n + " " + e.d).toLowerCase();
      return words.every(function (w) { return text.indexOf(w) >= 0; });
    }).slice(0, 50);
    found.forEach(function (e) {
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = root + e.u;
      link.textContent = e.n;
      item.appendChild(link);
      item.appendChild(document.createTextNode(" · " + e.t + " of " + e.d));
      list.appendChild(item);
    });
    if (!found.length) { list.appendChild(document.createTextNode("Nothing found.")); }
    list.hidden = false;
  }

  box.addEventListener("input", function () { show(box.value); });
  var match = /[#&]q=([^&]*)/.exec(window.location.hash);
  if (match) { box.value = decodeURIComponent(match[1]); show(box.value); }
}());
