// Baukasten: reveals and hides fields while the citizen answers, by asking the server.
//
// Optional. Pages work fully without it: every field is in the page, hidden ones carry the
// `hidden` attribute, and the server checks everything again on "Weiter". This script only
// makes the page follow the answers sooner. It holds no logic of its own: it sends the form's
// answers as JSON to the form's `data-evaluate` URL and applies the reply,
// {"fields": [{"path": "…", "visible": true, "required": false}, …]}, to the wrappers marked
// data-field="<path>". It is an external file with no inline handlers, so it runs under a
// strict Content-Security-Policy.
(function () {
  "use strict";

  var form = document.querySelector("form[data-evaluate]");
  if (!form || !window.fetch || !window.FormData || !window.JSON) {
    return;
  }
  var url = form.getAttribute("data-evaluate");
  var csrfInput = form.querySelector('input[name="_csrf"]');
  var pending = null;
  var latest = 0;

  // Nests dotted names into objects; numeric segments become array positions.
  function put(target, path, value) {
    var parts = path.split(".");
    var node = target;
    for (var i = 0; i < parts.length; i++) {
      var key = /^\d+$/.test(parts[i]) ? Number(parts[i]) : parts[i];
      var last = i === parts.length - 1;
      if (last) {
        if (node[key] === undefined) {
          node[key] = value;
        } else if (Array.isArray(node[key])) {
          node[key].push(value);
        } else {
          node[key] = [node[key], value];
        }
      } else {
        if (node[key] === undefined || node[key] === null || typeof node[key] !== "object") {
          node[key] = /^\d+$/.test(parts[i + 1]) ? [] : {};
        }
        node = node[key];
      }
    }
  }

  function answers() {
    var out = {};
    var data = new FormData(form);
    data.forEach(function (value, name) {
      if (name.charAt(0) === "_" || typeof value !== "string") {
        return;
      }
      put(out, name, value);
    });
    // Checkbox groups send one value per ticked box; a group with one tick is still a list.
    var boxes = form.querySelectorAll('input[type="checkbox"]');
    for (var i = 0; i < boxes.length; i++) {
      var name = boxes[i].name;
      if (name && name.charAt(0) !== "_" && form.querySelectorAll('input[type="checkbox"][name="' + name + '"]').length > 1) {
        var holder = out;
        var parts = name.split(".");
        for (var j = 0; j < parts.length - 1 && holder; j++) {
          holder = holder[/^\d+$/.test(parts[j]) ? Number(parts[j]) : parts[j]];
        }
        var leaf = parts[parts.length - 1];
        if (holder && typeof holder === "object" && !Array.isArray(holder[leaf])) {
          holder[leaf] = holder[leaf] === undefined ? [] : [holder[leaf]];
        }
      }
    }
    return out;
  }

  function apply(reply) {
    if (!reply || !Array.isArray(reply.fields)) {
      return;
    }
    reply.fields.forEach(function (field) {
      if (!field || typeof field.path !== "string") {
        return;
      }
      var wrapper = form.querySelector('[data-field="' + field.path.replace(/["\\]/g, "") + '"]');
      if (wrapper) {
        wrapper.hidden = !field.visible;
      }
    });
  }

  function ask() {
    var id = ++latest;
    var headers = { "Content-Type": "application/json", "Accept": "application/json" };
    if (csrfInput) {
      headers["X-CSRF-Token"] = csrfInput.value;
    }
    fetch(url, {
      method: "POST",
      headers: headers,
      credentials: "same-origin",
      body: JSON.stringify(answers())
    })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (reply) {
        // Only the answer to the newest question counts.
        if (id === latest) {
          apply(reply);
        }
      })
      .catch(function () {
        // Without an answer the page stays as it is; "Weiter" still works.
      });
  }

  form.addEventListener("change", function (event) {
    if (event.target && event.target.type === "file") {
      return;
    }
    window.clearTimeout(pending);
    pending = window.setTimeout(ask, 150);
  });
})();
