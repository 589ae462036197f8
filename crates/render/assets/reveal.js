// Baukasten: reveals and hides fields while the citizen answers, by asking the server.
//
// Optional. Pages work fully without it: every field is in the page, hidden ones carry the
// `hidden` attribute, and the server checks everything again on "Weiter". This script only
// makes the page follow the answers sooner. It holds no logic of its own: it posts the form, as
// the page would, to the form's `data-evaluate` URL and applies the reply,
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
  var pending = null;
  var latest = 0;

  // The form's fields as the page itself would post them (files left out): the server merges
  // them into the saved draft, so questions that depend on earlier steps are answered right.
  function body() {
    var pairs = [];
    new FormData(form).forEach(function (value, name) {
      if (typeof value === "string" && name !== "_action") {
        pairs.push(encodeURIComponent(name) + "=" + encodeURIComponent(value));
      }
    });
    return pairs.join("&");
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
    fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json" },
      credentials: "same-origin",
      body: body()
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
