// Switching language keeps what was typed: the forms of the page are remembered in this tab's
// sessionStorage when a language button is pressed, and filled in again on the page the switch
// returns to. Without JavaScript the switch still works; only the typed text is lost.
(function () {
  "use strict";
  var KEY = "ceia-language-switch";
  var SKIPPED = ["password", "file", "hidden", "submit", "button", "reset", "image"];

  function formsOfPage() {
    var main = document.getElementById("main");
    return main ? Array.prototype.slice.call(main.querySelectorAll("form")) : [];
  }

  function keptFields(form) {
    return Array.prototype.filter.call(form.elements, function (element) {
      return element.name && SKIPPED.indexOf(element.type) === -1 && !element.disabled;
    });
  }

  function remember() {
    var saved = formsOfPage().map(function (form) {
      return {
        action: form.getAttribute("action") || "",
        fields: keptFields(form).map(function (element) {
          if (element.type === "checkbox" || element.type === "radio") {
            return { name: element.name, value: element.value, checked: element.checked };
          }
          return { name: element.name, value: element.value };
        }),
      };
    });
    try {
      var next = switcher.querySelector("input[name=next]");
      var target = new URL(next ? next.value : location.href, location.href).pathname;
      sessionStorage.setItem(KEY, JSON.stringify({ path: target, forms: saved }));
    } catch (error) {
      // Storage may be full or refused: the switch goes on without the typed text.
    }
  }

  function restore() {
    var raw;
    try {
      raw = sessionStorage.getItem(KEY);
      sessionStorage.removeItem(KEY);
    } catch (error) {
      return;
    }
    if (!raw) return;
    var state = JSON.parse(raw);
    // A page answering only POST sends the switch to the nearest page above it that has a GET.
    var here = location.pathname.replace(/\/$/, "");
    if (!state || (state.path !== location.pathname && state.path.indexOf(here + "/") !== 0)) {
      return;
    }
    var forms = formsOfPage();
    var seen = {};
    state.forms.forEach(function (saved) {
      // The n-th saved form with an action goes into the n-th form of this page with it.
      var nth = (seen[saved.action] = (seen[saved.action] || 0) + 1);
      var form = forms.filter(function (candidate) {
        return (candidate.getAttribute("action") || "") === saved.action;
      })[nth - 1];
      if (!form) return;
      var fields = keptFields(form);
      // The same page draws the same fields in the same order: the n-th saved is the n-th here.
      saved.fields.forEach(function (field, position) {
        var element = fields[position];
        if (!element || element.name !== field.name) return;
        if (element.type === "checkbox" || element.type === "radio") {
          if (element.value === field.value) element.checked = field.checked;
        } else {
          element.value = field.value;
        }
      });
    });
  }

  var switcher = document.querySelector("form.language");
  if (switcher) switcher.addEventListener("submit", remember);
  restore();
})();
