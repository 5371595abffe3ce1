// Item bank form niceties (the form works without them): add a knowledge point found by the
// search box to the codes box, and keep Enter in the search box from submitting the form.
(function () {
  "use strict";

  function codesBox(from) {
    var form = from.closest("form");
    return form ? form.querySelector("textarea.kp-codes") : null;
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button.kp-add");
    if (!button) return;
    var box = codesBox(button);
    if (!box) return;
    var code = button.getAttribute("data-code") || "";
    var present = box.value.split(/[,;\n\r\uff0c\uff1b\u3001]+/).map(function (s) { return s.trim(); });
    if (code && present.indexOf(code) === -1) {
      var text = box.value.replace(/[\s,]+$/, "");
      box.value = text ? text + ", " + code : code;
    }
    button.disabled = true;
    box.focus();
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && event.target && event.target.id === "id_kp_q") {
      event.preventDefault();
    }
  });
})();
