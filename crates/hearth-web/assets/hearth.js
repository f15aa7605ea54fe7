// Progressive enhancement only: every page works without this file.
// Similar topics while a new topic's title is typed (ticket deflection).
(function () {
  "use strict";
  var title = document.querySelector("input[data-similar]");
  var box = document.getElementById("similar");
  if (!title || !box) return;
  var list = box.querySelector("ul");
  var timer = null;
  var last = "";
  function show(items) {
    list.textContent = "";
    items.forEach(function (t) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = t.url;
      a.textContent = t.title;
      a.setAttribute("data-similar-topic", t.id);
      li.appendChild(a);
      if (t.solved) {
        var b = document.createElement("span");
        b.className = "badge solved";
        b.textContent = "Solved";
        li.appendChild(document.createTextNode(" "));
        li.appendChild(b);
      }
      if (t.kind === "knowledge_base") {
        var k = document.createElement("span");
        k.className = "badge";
        k.textContent = "Knowledge base";
        li.appendChild(document.createTextNode(" "));
        li.appendChild(k);
      }
      list.appendChild(li);
    });
    box.hidden = items.length === 0;
  }
  function lookup() {
    var q = title.value.trim();
    if (q === last) return;
    last = q;
    if (q.length < 4) { show([]); return; }
    var session = title.getAttribute("data-session") || "";
    fetch(title.getAttribute("data-similar") + "?title=" + encodeURIComponent(q) +
          "&session=" + encodeURIComponent(session), {
      headers: { "Accept": "application/json" }, credentials: "same-origin"
    }).then(function (r) { return r.ok ? r.json() : { topics: [] }; })
      .then(function (data) { if (title.value.trim() === q) show(data.topics || []); })
      .catch(function () {});
  }
  title.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(lookup, 250);
  });
})();
