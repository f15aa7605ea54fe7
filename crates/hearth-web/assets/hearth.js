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

// Pictures and files on the composers: the file field uploads at once,
// with a progress bar, and the picture (or a link to the file) goes into
// the text at the cursor (also when a file is dropped on the text). Without this script the form sends
// the file along and the server does the same.
(function () {
  "use strict";
  function insert(area, text) {
    var at = area.selectionStart || area.value.length;
    var before = area.value.slice(0, at);
    var after = area.value.slice(at);
    var pad = before && !/\n\n$/.test(before) ? (/\n$/.test(before) ? "\n" : "\n\n") : "";
    area.value = before + pad + text + "\n" + after;
    area.selectionStart = area.selectionEnd = (before + pad + text + "\n").length;
    area.dispatchEvent(new Event("input"));
  }
  function setup(box) {
    var form = box.closest("form");
    var input = box.querySelector("input[type=file]");
    var bar = box.querySelector("progress");
    var status = box.querySelector(".upload-status");
    var area = form && form.querySelector("textarea");
    var token = form && form.querySelector("input[name=authenticity_token]");
    if (!form || !input || !area || !token || !window.FormData) return;
    function upload(file) {
      var data = new FormData();
      data.append("file", file, file.name);
      data.append("upload_type", "composer");
      data.append("synchronous", "true");
      var xhr = new XMLHttpRequest();
      xhr.open("POST", box.getAttribute("data-upload"));
      xhr.setRequestHeader("X-CSRF-Token", token.value);
      xhr.setRequestHeader("Accept", "application/json");
      bar.hidden = false;
      bar.value = 0;
      status.textContent = "Uploading " + file.name + "…";
      xhr.upload.onprogress = function (e) {
        if (e.lengthComputable) bar.value = Math.round(100 * e.loaded / e.total);
      };
      xhr.onload = function () {
        bar.hidden = true;
        var body = {};
        try { body = JSON.parse(xhr.responseText); } catch (e) { body = {}; }
        if (xhr.status === 200 && body.short_path) {
          var name = (body.original_filename || "file").replace(/[\[\]\\]/g, "");
          var picture = /^(png|jpeg|gif|webp)$/.test(body.extension || "");
          insert(area, (picture ? "!" : "") + "[" + name + "](" + body.short_path + ")");
          status.textContent = file.name + " is in your post.";
          input.value = "";
        } else {
          status.textContent = (body.errors && body.errors[0]) ||
            "The file could not be uploaded; it will be sent with the post instead.";
        }
      };
      xhr.onerror = function () {
        bar.hidden = true;
        status.textContent = "The upload failed; the file will be sent with the post instead.";
      };
      xhr.send(data);
    }
    input.addEventListener("change", function () {
      if (input.files && input.files[0]) upload(input.files[0]);
    });
    area.addEventListener("dragover", function (e) { e.preventDefault(); });
    area.addEventListener("drop", function (e) {
      var files = e.dataTransfer && e.dataTransfer.files;
      if (files && files.length) {
        e.preventDefault();
        upload(files[0]);
      }
    });
  }
  Array.prototype.forEach.call(document.querySelectorAll(".attach[data-upload]"), setup);
})();
